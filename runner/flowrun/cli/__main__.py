from flowrun.cli.main import main

main()
