"""mmagan-report: sweeps and runs turned into tables (report.md, report.csv) and plots."""
