"""exoneb tests: a regular package, so an installed package named ``tests`` cannot shadow it."""
