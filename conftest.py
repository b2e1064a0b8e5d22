"""Test-suite plugins: the shared fixtures that start real local servers (Azurite, the Microsoft
sandbox, the Google stand-in, the functions dev host) once per test run."""

pytest_plugins = [
    "tests.fixtures.log_guard",
    "tests.fixtures.azurite",
    "tests.fixtures.devhost",
    "tests.fixtures.sandbox",
    "tests.fixtures.google",
]
