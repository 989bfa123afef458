"""Run the kdanim command line from a checkout: python cli.py simulate --help"""

from kdanim.cli import main

if __name__ == "__main__":
    main()
