CREATE TABLE [meta] (
   [key] TEXT PRIMARY KEY,
   [value] TEXT
);
CREATE TABLE [extensions] (
   [number] TEXT PRIMARY KEY,
   [ha1_md5] TEXT,
   [ha1_sha256] TEXT,
   [source] TEXT
);
CREATE TABLE [bindings] (
   [aor] TEXT,
   [contact] TEXT,
   [expires_at] FLOAT,
   [call_id] TEXT,
   [cseq] INTEGER,
   [transport] TEXT,
   [source_host] TEXT,
   [source_port] INTEGER,
   [user_agent] TEXT,
   PRIMARY KEY ([aor], [contact])
);
CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at REAL NOT NULL,
        rotated_at REAL NOT NULL
    );
CREATE TABLE admin_tokens (
        id TEXT PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    );
CREATE TABLE call_features (
    extension TEXT PRIMARY KEY,
    forward_always TEXT NOT NULL,
    forward_busy TEXT NOT NULL,
    forward_no_answer TEXT NOT NULL,
    no_answer_seconds INTEGER NOT NULL,
    dnd INTEGER NOT NULL
);
CREATE TABLE callbacks (
        request_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        agent_number TEXT NOT NULL,
        destination_number TEXT NOT NULL,
        caller_id TEXT NOT NULL,
        recording_option TEXT NOT NULL,
        transcript INTEGER NOT NULL,
        time_zone TEXT NOT NULL,
        scheduled_at TEXT NOT NULL,
        due_at REAL NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        fired_at REAL,
        error TEXT NOT NULL DEFAULT ''
    );
CREATE INDEX callbacks_due ON callbacks (status, due_at);
CREATE INDEX callbacks_account ON callbacks (account_id, status);
CREATE TABLE campaigns (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        token TEXT NOT NULL,
        status TEXT NOT NULL,
        campaign_type INTEGER NOT NULL,
        caller_id TEXT NOT NULL,
        list_id TEXT NOT NULL,
        dnd_list_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        start_at REAL,
        end_at REAL,
        time_zone TEXT NOT NULL,
        max_retries INTEGER NOT NULL,
        retry_time REAL NOT NULL,
        retry_on TEXT NOT NULL,
        calls_per_minute REAL NOT NULL,
        max_simultaneous INTEGER NOT NULL,
        repeat INTEGER NOT NULL,
        dynamic_announcement INTEGER NOT NULL,
        announcement_text TEXT NOT NULL,
        recorded_filename TEXT NOT NULL,
        voice TEXT NOT NULL,
        flow TEXT,
        bot_id TEXT NOT NULL,
        project_name TEXT NOT NULL,
        stopped_at REAL
    );
CREATE UNIQUE INDEX campaigns_token ON campaigns (token);
CREATE INDEX campaigns_account ON campaigns (account_id, name);
CREATE INDEX campaigns_status ON campaigns (status);
CREATE TABLE cdrs (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        call_direction TEXT NOT NULL,
        destination_context TEXT NOT NULL,
        caller_id TEXT NOT NULL,
        agent_number TEXT NOT NULL,
        customer_number TEXT NOT NULL,
        dialed_number TEXT NOT NULL,
        call_date REAL NOT NULL,
        answer REAL,
        "end" REAL,
        call_duration REAL,
        billsec REAL,
        call_status TEXT,
        dial_status TEXT NOT NULL,
        dtmf_inputs TEXT NOT NULL DEFAULT '',
        recording_name TEXT NOT NULL DEFAULT '',
        transcript TEXT NOT NULL DEFAULT '',
        uniqueid TEXT NOT NULL DEFAULT '',
        campaign_id TEXT NOT NULL DEFAULT '',
        list_id TEXT NOT NULL DEFAULT '',
        is_dnd INTEGER NOT NULL DEFAULT 0,
        hangup_cause TEXT NOT NULL DEFAULT '',
        transfers TEXT NOT NULL DEFAULT ''
    );
CREATE INDEX cdrs_account_date ON cdrs (account_id, call_date);
CREATE INDEX cdrs_account_request ON cdrs (account_id, request_id);
CREATE INDEX cdrs_account_campaign ON cdrs (account_id, campaign_id);
CREATE INDEX cdrs_account_recording ON cdrs (account_id, recording_name);
CREATE INDEX cdrs_date ON cdrs (call_date);
CREATE TABLE cdr_counts (
        account_id TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        dial_status TEXT NOT NULL,
        calls INTEGER NOT NULL,
        PRIMARY KEY (account_id, campaign_id, dial_status)
    );
CREATE TABLE conference_rooms (
        number TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        pin TEXT NOT NULL,
        name TEXT NOT NULL,
        record INTEGER NOT NULL,
        max_participants INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
CREATE INDEX conference_rooms_account ON conference_rooms (account_id);
CREATE TABLE flows (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        steps TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
CREATE UNIQUE INDEX flows_account_name ON flows (account_id, name);
CREATE TABLE idempotence_keys (
        account_id TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        created_at REAL NOT NULL,
        result TEXT NOT NULL,
        PRIMARY KEY (account_id, idem_key)
    );
CREATE INDEX idempotence_age ON idempotence_keys (created_at);
CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        phone TEXT NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}',
        dedup TEXT NOT NULL DEFAULT '',
        keyless INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        queued INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        custom INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL,
        gmt_zone TEXT NOT NULL DEFAULT '',
        policy TEXT NOT NULL DEFAULT '{}',
        max_attempts INTEGER NOT NULL,
        retry_interval REAL NOT NULL,
        attempts_made INTEGER NOT NULL DEFAULT 0,
        redials INTEGER NOT NULL DEFAULT 0,
        source TEXT NOT NULL,
        list_id TEXT NOT NULL DEFAULT '',
        contact_name TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        call_duration REAL NOT NULL DEFAULT 0,
        result TEXT,
        report_data TEXT NOT NULL DEFAULT '[]',
        dial_status TEXT NOT NULL DEFAULT ''
    );
CREATE INDEX jobs_queue ON jobs (campaign_id, queued, priority, custom, next_at);
CREATE INDEX jobs_phone ON jobs (campaign_id, phone);
CREATE INDEX jobs_dedup ON jobs (campaign_id, dedup, created_at);
CREATE INDEX jobs_status ON jobs (status, campaign_id);
CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        campaign_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        phone TEXT NOT NULL,
        request_id TEXT NOT NULL,
        started_at REAL NOT NULL,
        answered_at REAL,
        ended_at REAL,
        dial_status TEXT NOT NULL DEFAULT '',
        sip_status INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        report_data TEXT NOT NULL DEFAULT '[]'
    );
CREATE INDEX attempts_job ON attempts (job_id, number);
CREATE TABLE contact_lists (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_at REAL NOT NULL
    );
CREATE UNIQUE INDEX contact_lists_name ON contact_lists (account_id, kind, name);
CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        list_id TEXT NOT NULL,
        name TEXT NOT NULL,
        number TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}'
    );
CREATE INDEX contacts_list ON contacts (list_id, number);
CREATE TABLE inbound_numbers (
        number TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        data TEXT NOT NULL,
        source TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
CREATE INDEX inbound_numbers_account ON inbound_numbers (account_id);
CREATE TABLE ring_groups (
        account_id TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        source TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (account_id, id)
    );
CREATE TABLE announce_templates (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at REAL NOT NULL
    );
CREATE INDEX announce_templates_account ON announce_templates (account_id);
CREATE TABLE [voicemail_boxes] (
   [extension] TEXT PRIMARY KEY,
   [pin_hash] TEXT,
   [greeting_file] TEXT
);
CREATE TABLE [voicemail_messages] (
   [id] INTEGER PRIMARY KEY,
   [extension] TEXT,
   [caller] TEXT,
   [created_at] FLOAT,
   [duration] FLOAT,
   [file] TEXT,
   [heard] INTEGER,
   [transcript] TEXT
);
CREATE INDEX voicemail_messages_by_box ON voicemail_messages (extension, heard, created_at);
CREATE TABLE webhook_settings (
        account_id TEXT PRIMARY KEY,
        url TEXT NOT NULL DEFAULT '',
        secret TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
CREATE TABLE webhook_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        type TEXT NOT NULL,
        request_id TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        finished_at REAL
    );
CREATE TABLE sqlite_sequence(name,seq);
CREATE INDEX webhook_events_lane ON webhook_events (account_id, status, seq);
CREATE INDEX webhook_events_status ON webhook_events (status, account_id);
CREATE INDEX webhook_events_created ON webhook_events (created_at);
CREATE TABLE webhook_attempts (
        event_seq INTEGER NOT NULL,
        number INTEGER NOT NULL,
        at REAL NOT NULL,
        status_code INTEGER,
        error TEXT NOT NULL DEFAULT '',
        duration REAL NOT NULL,
        PRIMARY KEY (event_seq, number)
    );
