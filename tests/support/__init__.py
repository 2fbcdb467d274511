"""What tests share, one module for each kind of thing:

- `app`: settings for tests and `running(settings)`
- `http_client`: `GraphQLClient`, GraphQL over HTTP (in process or to a served process)
- `websocket_client` (over `websocket_transports`): `Socket`, graphql-transport-ws likewise
- `tenants`, `people`: organizations, and members signed in for real
- `factories`, `optimizations`: set-up through the public API
- `processes`: `dspex-gql serve` in a process
- `databases`, `external_services`: throwaway PostgreSQL databases; PostgreSQL, Redis, programs
- `faults`: a TCP proxy to cut or silence; `fake_broker`: a pub/sub broker to break
- `pubsub`: reading hub events with a bound; `strategies`: optimization strategies driven by hand
"""
