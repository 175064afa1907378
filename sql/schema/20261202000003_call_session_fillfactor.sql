-- migrate:up

-- Deciding an outcome changes a call's status, ended_at and updated_at, none of
-- them indexed (status left its index in the migration before), so the UPDATE
-- can be HOT: the new row version goes on the same page and no index gets a new
-- entry. That needs room on the page: new pages are filled to 90 %. Rows written
-- before this migration move to such pages as they are updated.
ALTER TABLE call_session SET (fillfactor = 90);
COMMENT ON TABLE call_session IS 'A sales call with a prospect. A completed call has exactly one call_outcome; a cancelled call has none. No index holds status or the columns a status change writes, so status changes are HOT updates (fillfactor 90 keeps room for them); lists filtered by status walk the organization''s list index.';

-- migrate:down
ALTER TABLE call_session RESET (fillfactor);
COMMENT ON TABLE call_session IS 'A sales call with a prospect. A completed call has exactly one call_outcome; a cancelled call has none.';
