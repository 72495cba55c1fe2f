-- sqlc reads this as schema only: the tenant query set needs the schema
-- declared (the public one has it from dbmate/public already).
CREATE SCHEMA IF NOT EXISTS river;
