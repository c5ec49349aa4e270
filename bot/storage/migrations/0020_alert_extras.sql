-- Dispute alerts: when the current follow-up clock started (acknowledgement or reopening).
ALTER TABLE alerts ADD COLUMN followup_since TEXT;
CREATE INDEX alerts_person ON alerts(person_id, created_at);
