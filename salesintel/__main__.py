from salesintel.cli import main

main()
