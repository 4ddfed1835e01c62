from forensic.cli import main

main()
