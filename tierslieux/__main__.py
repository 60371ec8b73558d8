from tierslieux.cli import main

main()
