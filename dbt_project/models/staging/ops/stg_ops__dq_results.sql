with

source as (
    select * from {{ source('ops', 'dq_results') }}
),

renamed as (
    select
        -- ids
        result_id,
        run_id,
        checkpoint_date,
        gate,
        rule_id,

        -- attributes (the rule's texts are kept with every verdict, so history reads
        -- without the rule catalogue; sample rows and SQL stay in ops)
        severity,
        observed,
        details ->> 'relation' as relation,
        details ->> 'category' as category,
        details ->> 'owner' as rule_owner,
        details ->> 'description_zh' as description_zh,
        details ->> 'description_en' as description_en,
        details ->> 'fix_zh' as fix_zh,
        details ->> 'fix_en' as fix_en,
        details ->> 'error' as error,

        -- counts
        cast(details ->> 'unexpected_count' as bigint) as unexpected_count,
        cast(details ->> 'element_count' as bigint) as element_count,

        -- flags
        success,

        -- dates
        checked_at

    from source
)

select * from renamed
