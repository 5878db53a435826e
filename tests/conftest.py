pytest_plugins = [
    "tests.plugins.database",
    "tests.plugins.pgbouncer",
    "tests.plugins.world",
    "tests.plugins.graphql",
    "tests.plugins.captable",
    "tests.plugins.financials",
    "tests.plugins.costs",
    "tests.plugins.billing",
    "tests.plugins.processes",
    "tests.plugins.cli",
    "tests.plugins.jobs",
]
