-- The change log's seq has no gaps: it is drawn as max(seq) + 1 under the appenders' advisory
-- lock (store/changes.append_change), not from an identity, whose numbers a rolled-back
-- transaction (a projector killed mid-batch, a database restart) never gives back. The chaos
-- suite found such a gap; readers lost nothing, but the feed promises consecutive numbers.
alter table changes alter column seq drop identity;
