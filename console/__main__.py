if __name__ == "__main__":  # decoder processes re-import the main module: do nothing then
    from console.cli import main

    main()
