"""The root schema: every resource's queries, mutations and subscriptions merged into one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.schema import StreamResult
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from dspex_gql.accounts.schema import AccountMutation, AccountQuery
from dspex_gql.audit.schema import AuditQuery
from dspex_gql.config import GraphQLSettings
from dspex_gql.dags.schema import (
    DagMutation,
    DagQuery,
    DagRunMutation,
    DagRunQuery,
    DagRunSubscription,
)
from dspex_gql.executions.schema import ExecutionMutation, ExecutionQuery, ExecutionSubscription
from dspex_gql.graphql.authentication import Authentication
from dspex_gql.graphql.context import Context
from dspex_gql.graphql.errors import ERROR_TYPES, EXCEPTION_HANDLERS
from dspex_gql.graphql.execution import ServiceExecutionContext
from dspex_gql.graphql.input_check import InputCheck
from dspex_gql.graphql.observation import OperationMetrics, count_errors
from dspex_gql.graphql.revocation import ended_on_revocation, is_subscription
from dspex_gql.graphql.security import present, security_extensions
from dspex_gql.language_models.schema import LanguageModelMutation, LanguageModelQuery
from dspex_gql.optimization_runs.schema import (
    OptimizationMutation,
    OptimizationQuery,
    OptimizationSubscription,
)
from dspex_gql.programs.schema import ProgramMutation, ProgramQuery
from dspex_gql.signatures.schema import SignatureMutation, SignatureQuery
from dspex_gql.variable_spaces.schema import VariableSpaceMutation, VariableSpaceQuery

Query = merge_types(
    "Query",
    (
        AccountQuery,
        AuditQuery,
        SignatureQuery,
        ProgramQuery,
        ExecutionQuery,
        VariableSpaceQuery,
        OptimizationQuery,
        LanguageModelQuery,
        DagQuery,
        DagRunQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutation,
        SignatureMutation,
        ProgramMutation,
        ExecutionMutation,
        VariableSpaceMutation,
        OptimizationMutation,
        LanguageModelMutation,
        DagMutation,
        DagRunMutation,
    ),
)
Subscription = merge_types(
    "Subscription", (ExecutionSubscription, OptimizationSubscription, DagRunSubscription)
)


SINGLE_RESULT = frozenset({OperationType.QUERY, OperationType.MUTATION})


class Schema(strawberry.Schema):
    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> StreamResult:
        """Every subscription ends once the credential it runs on stops working."""
        results = await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types,
        )
        if isinstance(context_value, Context) and is_subscription(query, operation_name):
            return ended_on_revocation(results, context_value)
        return results

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Errors as clients see them (`security.present`), replaced in place: Strawberry calls
        this with the errors of every result it returns — of queries, mutations, each
        subscription event, and failures before execution — so none escapes it."""
        context = execution_context and execution_context.context
        request_id = getattr(getattr(context, "origin", None), "request_id", None)
        errors[:] = [present(error, request_id) for error in errors]
        if isinstance(context, Context):
            count_errors(context.runtime.telemetry, errors)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One result for one request: a subscription streams, so only `subscribe` (over a
        websocket) runs one; here it is an `InvalidOperationTypeError` (HTTP 400)."""
        given = SINGLE_RESULT if allowed_operation_types is None else allowed_operation_types
        allowed = SINGLE_RESULT.intersection(given)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed,
            operation_extensions,
        )


def build_schema(settings: GraphQLSettings | None = None) -> Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=ERROR_TYPES,
        extensions=[
            OperationMetrics,
            *security_extensions(settings or GraphQLSettings()),
            Authentication,
            InputCheck,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        execution_context_class=ServiceExecutionContext,
    )


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"


__all__: list[Any] = ["Schema", "build_schema", "schema_sdl"]
