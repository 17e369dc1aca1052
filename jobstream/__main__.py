from jobstream_client.cli.main import main

main()
