"""The LTI 1.3 tool's web side: keyset, login and launch, deep linking, the platforms' registration and services."""
