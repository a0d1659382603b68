from fvgpt.results.cli import main

main()
