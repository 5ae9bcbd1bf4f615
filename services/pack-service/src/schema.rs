// @generated automatically by Diesel CLI.

diesel::table! {
    activations (activation_id) {
        activation_id -> Text,
        tenant_id -> Text,
        domain_pack_id -> Text,
        tenant_pack_id -> Nullable<Text>,
        activated_at -> Timestamptz,
        activated_by -> Text,
        change_request_id -> Nullable<Text>,
        reason -> Text,
    }
}

diesel::table! {
    classifications (classification_id) {
        classification_id -> Text,
        tenant_id -> Text,
        ticket_ref -> Nullable<Text>,
        rule_id -> Nullable<Text>,
        rule_source -> Text,
        category -> Text,
        priority -> Text,
        queue -> Text,
        config_checksum -> Text,
        content_json -> Nullable<Jsonb>,
        classified_at -> Timestamptz,
        classified_by -> Text,
    }
}

diesel::table! {
    config_change_requests (change_id) {
        change_id -> Text,
        tenant_id -> Text,
        domain_pack_id -> Text,
        tenant_pack_id -> Nullable<Text>,
        status -> Text,
        reason -> Text,
        requested_at -> Timestamptz,
        requested_by -> Text,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Text>,
        decision_note -> Nullable<Text>,
    }
}

diesel::table! {
    domain_packs (pack_id) {
        pack_id -> Text,
        domain -> Text,
        version -> Text,
        major -> Int8,
        minor -> Int8,
        patch -> Int8,
        name -> Text,
        content_json -> Jsonb,
        checksum -> Text,
        active_tenants -> Int4,
        deprecated_at -> Nullable<Timestamptz>,
        deprecated_by -> Nullable<Text>,
        created_at -> Timestamptz,
        created_by -> Text,
    }
}

diesel::table! {
    import_attempts (attempt_id) {
        attempt_id -> Text,
        tenant_id -> Nullable<Text>,
        kind -> Text,
        dry_run -> Bool,
        domain -> Nullable<Text>,
        version -> Nullable<Text>,
        checksum -> Text,
        outcome -> Text,
        pack_id -> Nullable<Text>,
        errors -> Jsonb,
        created_at -> Timestamptz,
        created_by -> Text,
    }
}

diesel::table! {
    module_tools (module_id, version, tool_id) {
        module_id -> Text,
        version -> Text,
        tool_id -> Text,
        action_class -> Text,
        status -> Text,
        decided_at -> Timestamptz,
    }
}

diesel::table! {
    playbook_links (tenant_id, playbook) {
        tenant_id -> Text,
        playbook -> Text,
        playbook_version_id -> Text,
        domain_pack_id -> Text,
        linked_at -> Timestamptz,
        linked_by -> Text,
    }
}

diesel::table! {
    playbook_versions (playbook_version_id) {
        playbook_version_id -> Text,
        playbook -> Text,
        version -> Text,
        major -> Int8,
        minor -> Int8,
        patch -> Int8,
        domain -> Text,
        name -> Text,
        content_json -> Jsonb,
        checksum -> Text,
        published_at -> Timestamptz,
        published_by -> Text,
    }
}

diesel::table! {
    tenant_active_config (tenant_id) {
        tenant_id -> Text,
        domain_pack_id -> Text,
        tenant_pack_id -> Nullable<Text>,
        generation -> Int8,
        activated_at -> Timestamptz,
        activated_by -> Text,
        change_request_id -> Nullable<Text>,
    }
}

diesel::table! {
    tenant_pack_settings (tenant_id) {
        tenant_id -> Text,
        approval_required -> Bool,
        updated_at -> Timestamptz,
        updated_by -> Text,
        waived -> Bool,
    }
}

diesel::table! {
    tenant_packs (pack_id) {
        pack_id -> Text,
        tenant_id -> Text,
        version -> Text,
        major -> Int8,
        minor -> Int8,
        patch -> Int8,
        domain -> Text,
        domain_versions -> Text,
        content_json -> Jsonb,
        checksum -> Text,
        status -> Text,
        created_at -> Timestamptz,
        created_by -> Text,
    }
}

diesel::table! {
    tenants (tenant_id) {
        tenant_id -> Text,
        slug -> Text,
        display_name -> Text,
        status -> Text,
        data_mode -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    workflow_versions (workflow_version_id) {
        workflow_version_id -> Text,
        tenant_id -> Text,
        workspace_id -> Text,
        workflow -> Text,
        version -> Text,
        major -> Int8,
        minor -> Int8,
        patch -> Int8,
        domain -> Text,
        name -> Text,
        content_json -> Jsonb,
        checksum -> Text,
        published_at -> Timestamptz,
        published_by -> Text,
    }
}

diesel::table! {
    workspaces (workspace_id) {
        workspace_id -> Text,
        tenant_id -> Text,
        name -> Text,
        deleted_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(activations -> domain_packs (domain_pack_id));
diesel::joinable!(activations -> tenant_packs (tenant_pack_id));
diesel::joinable!(activations -> tenants (tenant_id));
diesel::joinable!(classifications -> tenants (tenant_id));
diesel::joinable!(config_change_requests -> domain_packs (domain_pack_id));
diesel::joinable!(config_change_requests -> tenant_packs (tenant_pack_id));
diesel::joinable!(config_change_requests -> tenants (tenant_id));
diesel::joinable!(playbook_links -> domain_packs (domain_pack_id));
diesel::joinable!(playbook_links -> playbook_versions (playbook_version_id));
diesel::joinable!(playbook_links -> tenants (tenant_id));
diesel::joinable!(tenant_active_config -> domain_packs (domain_pack_id));
diesel::joinable!(tenant_active_config -> tenant_packs (tenant_pack_id));
diesel::joinable!(tenant_active_config -> tenants (tenant_id));
diesel::joinable!(tenant_pack_settings -> tenants (tenant_id));
diesel::joinable!(tenant_packs -> tenants (tenant_id));
diesel::joinable!(workflow_versions -> tenants (tenant_id));
diesel::joinable!(workflow_versions -> workspaces (workspace_id));
diesel::joinable!(workspaces -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    activations,
    classifications,
    config_change_requests,
    domain_packs,
    import_attempts,
    module_tools,
    playbook_links,
    playbook_versions,
    tenant_active_config,
    tenant_pack_settings,
    tenant_packs,
    tenants,
    workflow_versions,
    workspaces,
);
