# No automatic acceptance checks: the Manager chose to skip them (/skip).
# Write pytest tests here (they import the program with `import script`);
# they run from the next version on.
