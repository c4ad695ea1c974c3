"""The softswitch process: builds the switch, its services and the HTTP API from the
configuration and runs them together.

The composition root: it sits above every layer (media, softswitch, api) and nothing
imports it but the `softswitch` command and the tests that start a whole process.
"""
