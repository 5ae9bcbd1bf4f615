//! Diesel definitions of the tenant registry's tables (`migrations/tenant-registry`).

diesel::table! {
    tenants (tenant_id) {
        tenant_id -> Text,
        slug -> Text,
        display_name -> Text,
        region -> Text,
        status -> Text,
        deployment_model -> Text,
        data_mode -> Text,
        owner_name -> Text,
        owner_email -> Text,
        owner_phone -> Nullable<Text>,
        created_at -> Timestamptz,
        created_by -> Text,
        updated_at -> Timestamptz,
    }
}
