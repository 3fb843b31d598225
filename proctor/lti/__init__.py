"""LTI 1.3 (1EdTech LTI Advantage): the platforms colleges register, launches, resource links, roster and grades."""
