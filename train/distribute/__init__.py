"""Distribution: where a run goes (`placement`), the backend known before JAX starts, and
one training over several JAX processes: joined (`coordinate`), led and followed
(`group`), supervised and restarted (`supervise`), on a Ray cluster (`cluster`),
with the Ascend layers' timing (`ascend`)."""
