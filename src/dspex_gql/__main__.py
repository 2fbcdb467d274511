from dspex_gql.cli import main

main()
