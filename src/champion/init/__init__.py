"""`champion init`: discover what a repository holds, then write champion.yaml and the workflows
(discover.py reads, plan.py decides, render.py writes the text, changes.py guards the files)."""
