"""The Jahresbericht: one year of the alliance for the councils (numbers, charts, md/html/pdf)."""
