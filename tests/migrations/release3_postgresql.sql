-- The schema of release f2d516d (meta.schema = '3'), postgresql dialect: every table, index, unique
-- constraint and the audit_event append-only triggers, exactly as that release's init_db made them
-- (Base.metadata.create_all, which also ran the after_create listener that adds the triggers).
-- Frozen: never edit it to match new models. Statements end with a semicolon and a blank line.

CREATE TABLE meta (
	key VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY (key)
);

CREATE TABLE area (
	code VARCHAR(16) NOT NULL, 
	old_code VARCHAR(8), 
	name VARCHAR(120) NOT NULL, 
	level VARCHAR(16) NOT NULL, 
	region_code VARCHAR(16), 
	PRIMARY KEY (code)
);

CREATE INDEX ix_area_old_code ON area (old_code);

CREATE TABLE stat_neighbour (
	model VARCHAR(8) NOT NULL, 
	la_code VARCHAR(16) NOT NULL, 
	rank INTEGER NOT NULL, 
	neighbour_code VARCHAR(16) NOT NULL, 
	closeness VARCHAR(32), 
	PRIMARY KEY (model, la_code, rank)
);

CREATE TABLE source (
	id SERIAL NOT NULL, 
	key VARCHAR(200) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	title TEXT NOT NULL, 
	publisher VARCHAR(200) NOT NULL, 
	vintage VARCHAR(100) NOT NULL, 
	licence VARCHAR(200) NOT NULL, 
	url TEXT, 
	sha256 VARCHAR(64), 
	PRIMARY KEY (id), 
	UNIQUE (key)
);

CREATE TABLE data_version (
	id SERIAL NOT NULL, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	label TEXT NOT NULL, 
	fingerprint VARCHAR(64), 
	created_by VARCHAR(120) NOT NULL, 
	rows INTEGER NOT NULL, 
	rows_in_file INTEGER, 
	filename VARCHAR(255), 
	restored_from INTEGER, 
	report TEXT, 
	PRIMARY KEY (id)
);

CREATE TABLE pending_upload (
	id VARCHAR(64) NOT NULL, 
	created_by VARCHAR(120) NOT NULL, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	filename VARCHAR(255) NOT NULL, 
	content BYTEA NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE app_user (
	id SERIAL NOT NULL, 
	name VARCHAR(80) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	password_hash VARCHAR(255) NOT NULL, 
	disabled BOOLEAN NOT NULL, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	must_change_password BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE share_link (
	id SERIAL NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	scope TEXT NOT NULL, 
	issued_by VARCHAR(80) NOT NULL, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	revoked_at TIMESTAMP WITHOUT TIME ZONE, 
	last_used_at TIMESTAMP WITHOUT TIME ZONE, 
	uses INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (token_hash)
);

CREATE TABLE audit_event (
	id SERIAL NOT NULL, 
	at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	actor VARCHAR(120) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	action VARCHAR(60) NOT NULL, 
	target TEXT NOT NULL, 
	outcome VARCHAR(16) NOT NULL, 
	ip VARCHAR(64) NOT NULL, 
	detail TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event;

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

CREATE TABLE version_file (
	version_id INTEGER NOT NULL, 
	filename VARCHAR(255) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	size INTEGER NOT NULL, 
	content BYTEA NOT NULL, 
	PRIMARY KEY (version_id), 
	FOREIGN KEY(version_id) REFERENCES data_version (id)
);

CREATE INDEX ix_version_file_sha256 ON version_file (sha256);

CREATE TABLE imported_target (
	id SERIAL NOT NULL, 
	version_id INTEGER NOT NULL, 
	metric_id VARCHAR(64) NOT NULL, 
	value FLOAT NOT NULL, 
	start DATE, 
	"end" DATE, 
	agency VARCHAR(80), 
	source TEXT NOT NULL, 
	tolerance FLOAT, 
	tolerance_kind VARCHAR(16), 
	illustrative BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(version_id) REFERENCES data_version (id)
);

CREATE INDEX ix_imported_target_version_id ON imported_target (version_id);

CREATE TABLE observation (
	id SERIAL NOT NULL, 
	metric_id VARCHAR(64) NOT NULL, 
	area_code VARCHAR(16) NOT NULL, 
	period_end DATE NOT NULL, 
	period_label VARCHAR(40) NOT NULL, 
	agency VARCHAR(80) NOT NULL, 
	breakdown VARCHAR(40) NOT NULL, 
	breakdown_value VARCHAR(40) NOT NULL, 
	value FLOAT, 
	numerator FLOAT, 
	denominator FLOAT, 
	published_value FLOAT, 
	status VARCHAR(8) NOT NULL, 
	illustrative BOOLEAN NOT NULL, 
	source_id INTEGER NOT NULL, 
	version_id INTEGER NOT NULL, 
	note TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_observation_cell UNIQUE (version_id, source_id, metric_id, area_code, period_end, agency, breakdown, breakdown_value), 
	FOREIGN KEY(source_id) REFERENCES source (id), 
	FOREIGN KEY(version_id) REFERENCES data_version (id)
);

CREATE INDEX ix_observation_metric_area ON observation (metric_id, area_code);

CREATE TABLE quality_flag (
	id SERIAL NOT NULL, 
	metric_id VARCHAR(64) NOT NULL, 
	area_code VARCHAR(16) NOT NULL, 
	period_end DATE, 
	severity VARCHAR(16) NOT NULL, 
	message TEXT NOT NULL, 
	source_id INTEGER, 
	version_id INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(source_id) REFERENCES source (id), 
	FOREIGN KEY(version_id) REFERENCES data_version (id)
);

CREATE TABLE auth_session (
	id VARCHAR(64) NOT NULL, 
	user_id INTEGER, 
	link_id INTEGER, 
	role VARCHAR(16) NOT NULL, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	last_seen_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	ended_at TIMESTAMP WITHOUT TIME ZONE, 
	ended_reason VARCHAR(40), 
	ip VARCHAR(64), 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES app_user (id), 
	FOREIGN KEY(link_id) REFERENCES share_link (id)
);
