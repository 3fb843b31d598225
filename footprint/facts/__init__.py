"""The statement projection the indicators read: facts (numbers) and terms (the strings they stand for)."""
