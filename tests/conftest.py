pytest_plugins = ["tests.plugins.database", "tests.plugins.world", "tests.plugins.graphql"]
