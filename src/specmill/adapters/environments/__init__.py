"""The pieces of repository environments: what a repository asks for (`detect`), the Python that
satisfies it (`interpreters`), the command that runs its tests (`test_command`) and the builds
(`build`). `adapters.repo_environments` puts them together behind the `Environments` port."""
