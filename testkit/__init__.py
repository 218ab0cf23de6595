"""Developer kit: pool writer, fake ChatGPT backend, headless Chromium driver, benchmark and
test helpers. Used by the tests and the scripts; not part of the installed package."""
