// @generated automatically by Diesel CLI.

diesel::table! {
    alert_log (id) {
        id -> Int8,
        entity -> Text,
        state -> Text,
        follows -> Nullable<Int8>,
        event_key -> Nullable<Text>,
        run_id -> Nullable<Text>,
        message -> Jsonb,
        created_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        delivery_error -> Nullable<Text>,
    }
}

diesel::table! {
    lightspeed_brands_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_consignment_products_rows (id) {
        id -> Text,
        consignment_id -> Text,
        product_id -> Nullable<Text>,
        product_sku -> Nullable<Text>,
        status -> Nullable<Text>,
        count -> Nullable<Numeric>,
        received -> Nullable<Numeric>,
        cost -> Nullable<Numeric>,
        is_included -> Nullable<Bool>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_consignments_rows (id) {
        id -> Text,
        outlet_id -> Nullable<Text>,
        name -> Nullable<Text>,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
        status -> Nullable<Text>,
        supplier_id -> Nullable<Text>,
        source_outlet_id -> Nullable<Text>,
        supplier_invoice -> Nullable<Text>,
        reference -> Nullable<Text>,
        total_count_gain -> Nullable<Numeric>,
        total_cost_gain -> Nullable<Numeric>,
        total_count_loss -> Nullable<Numeric>,
        total_cost_loss -> Nullable<Numeric>,
        consignment_date -> Nullable<Timestamptz>,
        due_at -> Nullable<Timestamptz>,
        received_at -> Nullable<Timestamptz>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_customer_groups_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        group_id -> Nullable<Text>,
        retailer_id -> Nullable<Text>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_customers_rows (id) {
        id -> Text,
        customer_code -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        mobile -> Nullable<Text>,
        company_name -> Nullable<Text>,
        customer_group_id -> Nullable<Text>,
        balance -> Nullable<Numeric>,
        loyalty_balance -> Nullable<Numeric>,
        year_to_date -> Nullable<Numeric>,
        date_of_birth -> Nullable<Date>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        gender -> Nullable<Text>,
        do_not_email -> Nullable<Bool>,
        enable_loyalty -> Nullable<Bool>,
        on_account_limit -> Nullable<Numeric>,
        physical_address_1 -> Nullable<Text>,
        physical_address_2 -> Nullable<Text>,
        physical_suburb -> Nullable<Text>,
        physical_city -> Nullable<Text>,
        physical_postcode -> Nullable<Text>,
        physical_state -> Nullable<Text>,
        physical_country_id -> Nullable<Text>,
        postal_address_1 -> Nullable<Text>,
        postal_address_2 -> Nullable<Text>,
        postal_suburb -> Nullable<Text>,
        postal_city -> Nullable<Text>,
        postal_postcode -> Nullable<Text>,
        postal_state -> Nullable<Text>,
        postal_country_id -> Nullable<Text>,
        customer_group_ids -> Nullable<Jsonb>,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_inventory_rows (id) {
        id -> Text,
        product_id -> Nullable<Text>,
        outlet_id -> Nullable<Text>,
        inventory_level -> Nullable<Numeric>,
        current_amount -> Nullable<Numeric>,
        average_cost -> Nullable<Numeric>,
        reorder_point -> Nullable<Numeric>,
        reorder_amount -> Nullable<Numeric>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_outlet_taxes_rows (outlet_id, product_id, tax_id) {
        outlet_id -> Text,
        product_id -> Text,
        tax_id -> Text,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_outlets_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        currency -> Nullable<Text>,
        time_zone -> Nullable<Text>,
        physical_address_1 -> Nullable<Text>,
        physical_address_2 -> Nullable<Text>,
        physical_suburb -> Nullable<Text>,
        physical_city -> Nullable<Text>,
        physical_postcode -> Nullable<Text>,
        physical_state -> Nullable<Text>,
        physical_country_id -> Nullable<Text>,
        attributes -> Nullable<Jsonb>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        default_tax_id -> Nullable<Text>,
        report_time_zone -> Nullable<Text>,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_payment_types_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        type_id -> Nullable<Int8>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_price_book_products_rows (id) {
        id -> Text,
        product_id -> Nullable<Text>,
        price_book_id -> Nullable<Text>,
        tax_id -> Nullable<Text>,
        rounding -> Nullable<Text>,
        adjustment_type -> Nullable<Text>,
        default_display_price -> Nullable<Numeric>,
        price -> Nullable<Numeric>,
        retail_tax -> Nullable<Numeric>,
        loyalty_value -> Nullable<Numeric>,
        adjustment -> Nullable<Numeric>,
        discount -> Nullable<Numeric>,
        min_units -> Nullable<Numeric>,
        max_units -> Nullable<Numeric>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_price_books_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        customer_group_id -> Nullable<Text>,
        outlet_id -> Nullable<Text>,
        restrict_to_platform_key -> Nullable<Text>,
        restrict_to_platform_label -> Nullable<Text>,
        valid_from -> Nullable<Timestamptz>,
        valid_to -> Nullable<Timestamptz>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_product_categories_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        root_category_id -> Nullable<Text>,
        parent_category_id -> Nullable<Text>,
        leaf_category -> Nullable<Bool>,
        category_path -> Nullable<Jsonb>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_product_types_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        leaf_category -> Nullable<Bool>,
        category_path -> Nullable<Jsonb>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_products_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        variant_name -> Nullable<Text>,
        handle -> Nullable<Text>,
        sku -> Nullable<Text>,
        active -> Nullable<Bool>,
        is_active -> Nullable<Bool>,
        variant_parent_id -> Nullable<Text>,
        supplier_id -> Nullable<Text>,
        brand_id -> Nullable<Text>,
        product_type_id -> Nullable<Text>,
        supply_price -> Nullable<Numeric>,
        price_including_tax -> Nullable<Numeric>,
        price_excluding_tax -> Nullable<Numeric>,
        description -> Nullable<Text>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        source -> Nullable<Text>,
        has_inventory -> Nullable<Bool>,
        is_composite -> Nullable<Bool>,
        supplier_code -> Nullable<Text>,
        family_id -> Nullable<Text>,
        has_variants -> Nullable<Bool>,
        variant_count -> Nullable<Int8>,
        variant_options -> Nullable<Jsonb>,
        product_codes -> Nullable<Jsonb>,
        product_category -> Nullable<Jsonb>,
        product_category_id -> Nullable<Text>,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_quarantine (id) {
        id -> Int8,
        entity -> Text,
        after_version -> Int8,
        max_version -> Int8,
        reason -> Text,
        raw -> Text,
        run_id -> Text,
        quarantined_at -> Timestamptz,
    }
}

diesel::table! {
    lightspeed_registers_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        outlet_id -> Nullable<Text>,
        invoice_prefix -> Nullable<Text>,
        invoice_suffix -> Nullable<Text>,
        receipt_template_id -> Nullable<Text>,
        button_layout_id -> Nullable<Text>,
        register_open_sequence_id -> Nullable<Text>,
        cash_managed_payment_type_id -> Nullable<Text>,
        invoice_sequence -> Nullable<Numeric>,
        ask_for_note_on_save -> Nullable<Numeric>,
        is_open -> Nullable<Bool>,
        print_receipt -> Nullable<Bool>,
        email_receipt -> Nullable<Bool>,
        print_note_on_receipt -> Nullable<Bool>,
        ask_for_user_on_sale -> Nullable<Bool>,
        show_discounts_on_receipts -> Nullable<Bool>,
        register_open_time -> Nullable<Timestamptz>,
        register_close_time -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_sale_line_items_rows (id) {
        id -> Text,
        sale_id -> Text,
        product_id -> Nullable<Text>,
        tax_id -> Nullable<Text>,
        quantity -> Nullable<Numeric>,
        price -> Nullable<Numeric>,
        price_total -> Nullable<Numeric>,
        cost -> Nullable<Numeric>,
        cost_total -> Nullable<Numeric>,
        tax -> Nullable<Numeric>,
        tax_total -> Nullable<Numeric>,
        discount -> Nullable<Numeric>,
        discount_total -> Nullable<Numeric>,
        loyalty_value -> Nullable<Numeric>,
        status -> Nullable<Text>,
        sequence -> Nullable<Int8>,
        is_return -> Nullable<Bool>,
        note -> Nullable<Text>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        salesperson_id -> Nullable<Text>,
        unit_price -> Nullable<Numeric>,
        total_price -> Nullable<Numeric>,
        unit_tax -> Nullable<Numeric>,
        total_tax -> Nullable<Numeric>,
        unit_cost -> Nullable<Numeric>,
        total_cost -> Nullable<Numeric>,
        unit_discount -> Nullable<Numeric>,
        total_discount -> Nullable<Numeric>,
        tax_components -> Nullable<Jsonb>,
        promotions -> Nullable<Jsonb>,
        absent -> Nullable<Int8>,
        position -> Nullable<Int4>,
    }
}

diesel::table! {
    lightspeed_sale_payments_rows (id) {
        id -> Text,
        sale_id -> Text,
        retailer_payment_type_id -> Nullable<Text>,
        payment_type_id -> Nullable<Text>,
        name -> Nullable<Text>,
        amount -> Nullable<Numeric>,
        payment_date -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        register_id -> Nullable<Text>,
        outlet_id -> Nullable<Text>,
        register_open_sequence_id -> Nullable<Text>,
        absent -> Nullable<Int8>,
        position -> Nullable<Int4>,
    }
}

diesel::table! {
    lightspeed_sales_rows (id) {
        id -> Text,
        outlet_id -> Nullable<Text>,
        register_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        customer_id -> Nullable<Text>,
        invoice_number -> Nullable<Text>,
        receipt_number -> Nullable<Text>,
        status -> Nullable<Text>,
        total_price -> Nullable<Numeric>,
        total_tax -> Nullable<Numeric>,
        total_loyalty -> Nullable<Numeric>,
        note -> Nullable<Text>,
        sale_date -> Nullable<Timestamptz>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        total_price_incl -> Nullable<Numeric>,
        state -> Nullable<Text>,
        source -> Nullable<Text>,
        source_id -> Nullable<Text>,
        short_code -> Nullable<Text>,
        return_for -> Nullable<Text>,
        local_date -> Nullable<Date>,
        return_ids -> Nullable<Jsonb>,
        taxes -> Nullable<Jsonb>,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_serialnumbers_rows (id) {
        id -> Text,
        code -> Nullable<Text>,
        product_id -> Nullable<Text>,
        outlet_id -> Nullable<Text>,
        sale_id -> Nullable<Text>,
        line_item_id -> Nullable<Text>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_shifts_rows (id) {
        id -> Text,
        retailer_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        updated_by -> Nullable<Text>,
        time_in -> Nullable<Timestamptz>,
        time_out -> Nullable<Timestamptz>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_suppliers_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        description -> Nullable<Text>,
        default_markup -> Nullable<Numeric>,
        contact -> Nullable<Jsonb>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_tags_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_taxes_rows (id) {
        id -> Text,
        name -> Nullable<Text>,
        display_name -> Nullable<Text>,
        is_default -> Nullable<Bool>,
        rates -> Nullable<Jsonb>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightspeed_users_rows (id) {
        id -> Text,
        username -> Nullable<Text>,
        display_name -> Nullable<Text>,
        email -> Nullable<Text>,
        account_type -> Nullable<Text>,
        restricted_outlet_id -> Nullable<Text>,
        enabled -> Nullable<Bool>,
        is_primary_user -> Nullable<Bool>,
        enabled_mfa -> Nullable<Bool>,
        require_password_change -> Nullable<Bool>,
        target_daily -> Nullable<Numeric>,
        target_weekly -> Nullable<Numeric>,
        target_monthly -> Nullable<Numeric>,
        email_verified_at -> Nullable<Timestamptz>,
        seen_at -> Nullable<Timestamptz>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        restricted_outlet_ids -> Nullable<Jsonb>,
        roles -> Nullable<Jsonb>,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        rest -> Nullable<Jsonb>,
        synced_at -> Timestamptz,
        absent -> Nullable<Int8>,
    }
}

diesel::table! {
    lightsync_dashboard_logouts (session_digest) {
        session_digest -> Text,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    lightsync_report_sale_totals (sale_id) {
        sale_id -> Text,
        lines -> Int8,
        units -> Nullable<Numeric>,
        revenue_excl_tax -> Nullable<Numeric>,
        tax -> Nullable<Numeric>,
        discount -> Nullable<Numeric>,
        all_returns -> Nullable<Bool>,
    }
}

diesel::table! {
    sync_log (id) {
        id -> Int8,
        run_id -> Text,
        entity -> Text,
        mode -> Text,
        status -> Text,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        duration_ms -> Nullable<Int8>,
        pages -> Int8,
        records_fetched -> Int8,
        records_inserted -> Int8,
        records_updated -> Int8,
        records_deleted -> Int8,
        requests -> Int8,
        retries -> Int8,
        rate_limited -> Int8,
        error -> Nullable<Text>,
        records_untyped -> Int8,
        records_quarantined -> Int8,
        reconcile_missing -> Nullable<Int8>,
        reconcile_stale -> Nullable<Int8>,
        reconcile_extra -> Nullable<Int8>,
    }
}

diesel::table! {
    sync_state (entity) {
        entity -> Text,
        status -> Text,
        last_version -> Int8,
        last_success_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        run_id -> Nullable<Text>,
        run_mode -> Nullable<Text>,
        run_started_at -> Nullable<Timestamptz>,
        run_pages -> Int8,
        run_records -> Int8,
        rows_in_table -> Int8,
        updated_at -> Timestamptz,
        caught_up_at -> Nullable<Timestamptz>,
        newest_change_at -> Nullable<Timestamptz>,
        landed_at -> Nullable<Timestamptz>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    alert_log,
    lightspeed_brands_rows,
    lightspeed_consignment_products_rows,
    lightspeed_consignments_rows,
    lightspeed_customer_groups_rows,
    lightspeed_customers_rows,
    lightspeed_inventory_rows,
    lightspeed_outlet_taxes_rows,
    lightspeed_outlets_rows,
    lightspeed_payment_types_rows,
    lightspeed_price_book_products_rows,
    lightspeed_price_books_rows,
    lightspeed_product_categories_rows,
    lightspeed_product_types_rows,
    lightspeed_products_rows,
    lightspeed_quarantine,
    lightspeed_registers_rows,
    lightspeed_sale_line_items_rows,
    lightspeed_sale_payments_rows,
    lightspeed_sales_rows,
    lightspeed_serialnumbers_rows,
    lightspeed_shifts_rows,
    lightspeed_suppliers_rows,
    lightspeed_tags_rows,
    lightspeed_taxes_rows,
    lightspeed_users_rows,
    lightsync_dashboard_logouts,
    lightsync_report_sale_totals,
    sync_log,
    sync_state,
);
