"""LTI 1.3: the Moodle stand-in the tests launch the tool from, and its own tests."""
