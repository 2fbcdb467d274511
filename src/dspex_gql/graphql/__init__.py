"""The GraphQL transport: schema assembly, context, errors, pagination, filters, security."""
