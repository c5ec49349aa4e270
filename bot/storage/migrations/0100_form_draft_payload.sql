-- One draft store: the form_drafts row now holds the draft itself (its answers as JSON and the
-- step on screen), not only a mirror of PTB user_data. The form runtime (bot/forms/) commits
-- both before it sends the next question; PTB persistence keeps only the conversation state.
ALTER TABLE form_drafts ADD COLUMN payload TEXT NOT NULL DEFAULT '{}';
ALTER TABLE form_drafts ADD COLUMN step TEXT;
ALTER TABLE form_drafts ADD COLUMN editing INTEGER NOT NULL DEFAULT 0;
CREATE INDEX form_drafts_person ON form_drafts(form, person_id, state);
