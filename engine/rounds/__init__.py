"""Application rounds: a whole round of applicants from a spreadsheet, evaluated fast, with budget pools."""
