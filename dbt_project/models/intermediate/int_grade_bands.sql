-- Grade bands from the grades seed: [min_score, next band's min_score). A score belongs to
-- exactly one band; 优 >= 90, 良 80-<90, 中 60-<80, 差 < 60 with the default seed.
with

grades as (
    select * from {{ ref('grades') }}
)

select
    grade,
    label_zh as grade_label_zh,
    min_score,
    lead(min_score) over (order by min_score) as below_score,
    extra_cut_rate
from grades
