"""Project and indicator templates: what a county's budget units spend on and how they
state their performance targets (绩效目标), per template pool and special category.

Only the 13 special departments' pools hold templates of the nine special categories; all
other pools are `other`, which keeps the indicator systems at 13 departments / 7 sectors.
"""

from __future__ import annotations

from dataclasses import dataclass

EDU = "education"
SCI = "science_tech"
POV = "poverty_alleviation"
ENV = "environment"
AFW = "agriculture_forestry_water"
SOC = "social_security"
CUL = "culture_sports_media"
HOU = "housing_security"
TRA = "transportation"
OTHER = "other"

GP = "general_public"
GF = "government_fund"
SC = "state_capital"
SI = "social_insurance"


@dataclass(frozen=True, slots=True)
class ProjectTemplate:
    name: str
    category: str = OTHER
    budget_type: str = GP
    ppp: bool = False
    debt: bool = False
    # Chosen before any other template of its pool, so every year holds the four budget
    # types, PPP and debt projects.
    must: bool = False


def _p(name: str, category: str = OTHER, budget_type: str = GP, **flags: bool) -> ProjectTemplate:
    return ProjectTemplate(name, category, budget_type, **flags)


def _many(category: str, *names: str) -> tuple[ProjectTemplate, ...]:
    return tuple(ProjectTemplate(n, category) for n in names)


_OFFICE = _many(OTHER, "机关运行维护经费", "信息化建设运维经费", "党建工作经费", "业务培训经费")

# County-fund (县本级) project templates per pool.
PROJECT_POOLS: dict[str, tuple[ProjectTemplate, ...]] = {
    "education": (
        *_many(
            EDU,
            "学前教育保教费补助",
            "中小学校舍维修改造",
            "教育信息化建设",
            "中小学教师培训经费",
            "中小学课后服务经费",
            "校园安全设施建设",
            "普通高中助学金县级配套",
            "乡村教师生活补助",
            "教育教学质量奖励",
            "中小学校食堂改造",
            "义务教育阶段学生交通补助",
            "职业教育实训基地建设",
            "城乡义务教育学校公用经费县级配套",
            "学前教育公用经费",
            "家庭经济困难学生资助县级配套",
            "中小学图书装备配备",
            "学校体育设施建设",
            "中小学取暖费补助",
            "中小学研学实践教育",
            "教育督导评估经费",
            "民办教育扶持资金",
            "控辍保学工作经费",
            "国家通用语言文字推广",
            "智慧教育示范区建设",
        ),
        *_many(CUL, "全民健身活动经费", "县运动会及体育赛事经费", "青少年体育训练经费"),
        *_OFFICE,
    ),
    "science": (
        *_many(
            SCI,
            "科技创新项目补助",
            "高新技术企业培育奖补",
            "农业科技示范推广",
            "科技特派员创业行动",
            "科普活动经费",
            "东西部科技合作项目",
            "科技成果转化奖励",
            "知识产权资助",
        ),
        *_OFFICE,
    ),
    "civil_affairs": (
        *_many(
            SOC,
            "城乡最低生活保障县级配套",
            "特困人员救助供养",
            "临时救助资金",
            "高龄老人津贴",
            "孤儿基本生活费",
            "困难残疾人生活补贴和重度残疾人护理补贴",
            "社区居家养老服务",
            "殡葬改革惠民补贴",
        ),
        *_many(OTHER, "社会组织培育经费", "婚姻登记工作经费", "地名普查成果转化"),
    ),
    "hrss": (
        _p("城乡居民基本养老保险基金支出", SOC, SI, must=True),
        _p("机关事业单位养老保险基金支出", SOC, SI, must=True),
        *_many(
            SOC,
            "就业补助资金县级配套",
            "城乡居民基本养老保险缴费补贴",
            "农民工职业技能培训",
            "创业担保贷款贴息",
            "公益性岗位补贴",
            "高校毕业生就业见习补贴",
        ),
        *_many(OTHER, "劳动保障监察经费", "人事考试经费", "劳动人事争议仲裁经费"),
    ),
    "medical_insurance": (
        _p("城乡居民基本医疗保险基金支出", SOC, SI, must=True),
        *_many(SOC, "城乡居民基本医疗保险县级补助", "医疗救助资金县级配套", "长期护理保险试点"),
        *_many(OTHER, "医保基金监管经费", "医保经办服务能力建设"),
    ),
    "natural_resources": (
        _p("征地拆迁补偿", OTHER, GF, must=True),
        _p("土地整治项目", AFW, GF),
        _p("耕地保护与占补平衡", AFW, GF),
        *_many(
            AFW,
            "三北防护林体系建设",
            "国土绿化和防沙治沙",
            "天然林保护",
            "草原生态保护补助奖励",
            "森林草原防火经费",
            "湿地保护与修复",
        ),
        *_many(OTHER, "国土空间规划编制", "不动产登记经费", "自然资源执法监察"),
    ),
    "environment": (
        _p("污水处理厂提标改造PPP项目", ENV, ppp=True, must=True),
        *_many(
            ENV,
            "大气污染防治",
            "水污染防治",
            "土壤污染防治",
            "农村环境综合整治",
            "沙湖水环境保护",
            "生态环境监测能力建设",
            "重点行业挥发性有机物治理",
            "黄河流域生态保护和高质量发展先行区建设",
            "入河排污口排查整治",
        ),
        *_many(OTHER, "生态环境执法经费"),
    ),
    "housing": (
        _p("城镇老旧小区改造专项债券项目", HOU, GF, debt=True, must=True),
        _p("城市基础设施配套费安排项目", OTHER, GF, must=True),
        _p("城市集中供热PPP项目", OTHER, ppp=True, must=True),
        *_many(
            HOU,
            "城镇老旧小区改造",
            "公共租赁住房维修",
            "农村危房改造",
            "城镇保障性安居工程配套",
            "住房租赁补贴",
            "棚户区改造",
        ),
        *_many(OTHER, "建筑市场监管经费", "城市规划设计"),
    ),
    "transport": (
        _p("农村公路建设专项债券项目", TRA, GF, debt=True, must=True),
        *_many(
            TRA,
            "道路交通安全隐患治理",
            "农村公路养护",
            "四好农村路建设",
            "农村客运补贴",
            "城乡公交一体化运营补贴",
            "县乡道路改造提升",
            "桥梁安全改造",
            "公路安全生命防护工程",
        ),
        *_many(OTHER, "治超站运行经费"),
    ),
    "water": (
        _p("城乡供水一体化PPP项目", AFW, ppp=True, must=True),
        *_many(
            AFW,
            "农村饮水安全巩固提升",
            "农田水利设施建设",
            "河湖长制工作经费",
            "黄河防汛",
            "排水沟清淤整治",
            "高效节水灌溉",
            "水资源监测",
            "水土保持",
            "山洪灾害防治",
        ),
    ),
    "agriculture": (
        _p("高标准农田建设专项债券项目", AFW, GF, debt=True, must=True),
        *_many(
            AFW,
            "高标准农田建设",
            "耕地地力保护补贴",
            "农机购置补贴",
            "动物防疫补助经费",
            "盐碱地改良",
            "设施农业发展",
            "奶产业发展扶持",
            "肉牛滩羊产业发展",
            "枸杞产业发展",
            "冷凉蔬菜基地建设",
            "农业社会化服务",
            "农村人居环境整治",
        ),
        *_many(POV, "脱贫人口小额信贷贴息", "到户产业发展补助", "村集体经济发展"),
        *_OFFICE,
    ),
    "rural_revival": (
        *_many(
            POV,
            "县级衔接推进乡村振兴资金",
            "雨露计划",
            "以工代赈",
            "闽宁协作资金项目",
            "移民村产业发展",
            "防返贫监测帮扶",
            "易地扶贫搬迁后续扶持",
            "乡村振兴示范村建设",
        ),
        *_many(OTHER, "驻村工作队经费"),
    ),
    "culture": (
        *_many(
            CUL,
            "公共文化服务体系建设",
            "非物质文化遗产保护",
            "玉皇阁文物保护修缮",
            "农村电影放映",
            "图书馆文化馆免费开放",
            "广播电视户户通运维",
            "沙湖旅游宣传推广",
            "群众文化活动",
        ),
        *_many(OTHER, "文化市场综合执法", "旅游厕所建设"),
    ),
    "health": _many(
        OTHER,
        "基本公共卫生服务县级配套",
        "家庭医生签约服务",
        "新冠肺炎疫情防控经费",
        "新冠疫苗接种经费",
        "计划生育家庭奖励扶助",
        "紧密型县域医共体建设",
        "基层医疗卫生机构能力建设",
        "卫生应急物资储备",
        "爱国卫生运动经费",
        "健康教育与促进",
        "村医补助",
        "重大公共卫生服务项目",
        "基层卫生人才培养",
        "卫生健康信息化建设",
        "老年健康服务",
        "职业病防治",
        "妇幼健康服务",
    ),
    "police": _many(
        OTHER,
        "雪亮工程运维",
        "交通管理设施建设维护",
        "禁毒工作经费",
        "看守所运行经费",
        "警用装备购置",
        "反电信网络诈骗宣传",
        "社会治安防控体系建设",
        "公安信息化建设",
        "辅警经费",
    ),
    "emergency": _many(
        OTHER, "安全生产监管", "森林草原防灭火", "应急物资储备", "应急救援队伍建设", "防灾减灾宣传"
    ),
    "finance": (
        _p("县属国有企业资本金注入", OTHER, SC, must=True),
        _p("政府专项债券付息", OTHER, GF, debt=True, must=True),
        *_many(
            OTHER,
            "预算管理一体化系统运维",
            "财政监督检查经费",
            "政府采购管理经费",
            "国库集中支付代理手续费",
            "乡镇财政所运转经费",
            "预算绩效管理第三方评价经费",
        ),
    ),
    "industry": (
        _p("国有企业改革发展补助", OTHER, SC, must=True),
        _p("工业园区基础设施建设", OTHER, GF),
        *_many(
            OTHER,
            "电子商务进农村综合示范",
            "招商引资经费",
            "中小企业发展专项",
            "消费促进活动",
            "工业企业技术改造奖补",
        ),
    ),
    "development": _many(
        OTHER, "重点项目前期工作经费", "粮食储备", "价格监测经费", "重大项目谋划", "节能监察经费"
    ),
    "party": _many(
        OTHER,
        "党建工作经费",
        "机关运行维护经费",
        "信息化建设运维经费",
        "档案数字化",
        "调研课题经费",
    ),
    "government": _many(
        OTHER,
        "12345政务服务热线运行",
        "机关运行维护经费",
        "公务用车运行维护",
        "应急值守经费",
        "政府法律顾问经费",
    ),
    "organization": _many(
        OTHER, "干部教育培训", "基层党组织建设", "人才引进专项", "村干部报酬及保险", "远程教育运维"
    ),
    "publicity": _many(
        OTHER, "精神文明建设", "新时代文明实践中心建设", "网络舆情监测", "对外宣传经费"
    ),
    "politics_law": _many(
        OTHER, "平安建设经费", "综治网格化管理", "扫黑除恶常态化", "矛盾纠纷多元化解"
    ),
    "justice": _many(OTHER, "法律援助经费", "人民调解经费", "社区矫正经费", "普法宣传经费"),
    "veterans": _many(
        OTHER, "优抚对象抚恤补助", "退役军人就业创业扶持", "烈士纪念设施维护", "双拥工作经费"
    ),
    "market": _many(OTHER, "食品安全抽检", "特种设备安全监察", "质量强县建设", "市场监管执法装备"),
    "media": _many(OTHER, "融媒体中心建设", "广播电视节目制作", "新闻宣传经费"),
    "urban_management": _many(
        OTHER, "城市综合管理", "违法建设整治", "数字城管运维", "渣土车辆治理"
    ),
    "court": _many(OTHER, "办案业务经费", "司法救助资金", "执法办案场所维护", "信息化建设运维经费"),
    "census": _many(OTHER, "第七次全国人口普查经费", "人口普查数据处理"),
    "school": _many(
        OTHER,
        "校舍维修改造",
        "教学设备购置",
        "校园安保经费",
        "学生活动经费",
        "教师培训经费",
        "食堂运行补助",
        "智慧校园建设",
        "图书购置",
    ),
    "hospital": _many(
        OTHER,
        "医疗设备购置",
        "院感防控经费",
        "发热门诊改造",
        "信息化建设",
        "人才培养经费",
        "医疗废物处置",
    ),
    "agri_unit": _many(
        OTHER,
        "农业技术推广经费",
        "病虫害监测防治",
        "良种推广",
        "农产品质量安全检测",
        "动物疫病监测",
        "苗木培育",
        "护林员经费",
    ),
    "culture_unit": _many(
        OTHER, "免费开放运行经费", "文物保护经费", "群众文化活动", "数字资源建设"
    ),
    "township": _many(
        OTHER,
        "村级组织运转经费",
        "农村人居环境整治",
        "美丽乡村建设",
        "乡村道路维修养护",
        "农田水利设施维修",
        "村级公益事业一事一议",
        "社会救助工作经费",
        "基层党建工作经费",
        "网格化管理经费",
        "集镇环境卫生整治",
        "防汛抗旱经费",
        "群众文化活动经费",
        "乡村治理示范村建设",
        "壮大村集体经济",
        "农村厕所革命",
        "秸秆禁烧与综合利用",
    ),
    "unit": _many(
        OTHER,
        "业务工作经费",
        "信息化建设运维经费",
        "办公设备购置",
        "专项工作经费",
        "宣传培训经费",
        "聘用人员经费",
        "办公用房维修",
        "档案管理经费",
    ),
}


@dataclass(frozen=True, slots=True)
class TransferTemplate:
    name: str
    category: str
    source: str  # central_transfer | region_transfer


def _t(category: str, source: str, *names: str) -> tuple[TransferTemplate, ...]:
    return tuple(TransferTemplate(n, category, source) for n in names)


C = "central_transfer"
R = "region_transfer"

# Transfer payments (中央、自治区转移支付) a pool's department receives.
TRANSFER_POOLS: dict[str, tuple[TransferTemplate, ...]] = {
    "education": (
        *_t(
            EDU,
            C,
            "城乡义务教育补助经费",
            "学前教育发展资金",
            "义务教育薄弱环节改善与能力提升补助资金",
            "现代职业教育质量提升计划资金",
            "学生资助补助经费",
            "农村义务教育学生营养改善计划",
        ),
        *_t(EDU, R, "普通高中教育发展资金", "特殊教育补助经费"),
        *_t(CUL, C, "公共体育场馆免费低收费开放补助"),
    ),
    "science": _t(SCI, R, "自治区科技创新引导资金") + _t(SCI, C, "中央引导地方科技发展资金"),
    "civil_affairs": _t(SOC, C, "困难群众救助补助资金", "中央财政养老服务体系建设补助资金"),
    "hrss": _t(SOC, C, "就业补助资金") + _t(SOC, R, "自治区就业创业专项资金"),
    "medical_insurance": _t(SOC, C, "医疗救助补助资金", "城乡居民基本医疗保险补助"),
    "natural_resources": _t(AFW, C, "林业改革发展资金") + _t(AFW, R, "自治区林业生态建设资金"),
    "environment": _t(ENV, C, "大气污染防治资金", "水污染防治资金")
    + _t(ENV, R, "自治区生态环境保护专项资金"),
    "housing": _t(HOU, C, "中央财政城镇保障性安居工程补助资金", "农村危房改造补助资金")
    + _t(HOU, R, "自治区老旧小区改造补助资金"),
    "transport": _t(TRA, C, "车辆购置税收入补助地方资金", "成品油价格调整对农村客运补助资金")
    + _t(TRA, R, "自治区农村公路建设补助资金"),
    "water": _t(AFW, C, "水利发展资金") + _t(AFW, R, "自治区水利建设专项资金"),
    "agriculture": _t(AFW, C, "农业相关转移支付资金", "动物防疫等补助经费")
    + _t(AFW, R, "自治区农业特色优势产业资金")
    + _t(POV, C, "中央财政衔接推进乡村振兴补助资金（产业发展）"),
    "rural_revival": _t(POV, C, "中央财政衔接推进乡村振兴补助资金", "少数民族发展资金")
    + _t(POV, R, "自治区财政衔接推进乡村振兴补助资金"),
    "culture": _t(CUL, C, "公共文化服务体系建设补助资金", "美术馆公共图书馆文化馆站免费开放资金")
    + _t(CUL, R, "自治区文化产业发展专项资金"),
    "health": _t(OTHER, C, "基本公共卫生服务补助资金", "医疗服务与保障能力提升补助资金")
    + _t(OTHER, R, "计划生育转移支付资金"),
    "police": _t(OTHER, C, "政法转移支付资金"),
    "emergency": _t(OTHER, C, "自然灾害防治体系建设补助资金"),
}


@dataclass(frozen=True, slots=True)
class IndicatorTemplate:
    """One indicator a project may declare.

    ``kind`` says how its actual value behaves through the year: ``count`` accumulates
    towards the target; ``rate`` and ``level`` are measured as they are (a percentage, a
    yield); ``days`` and ``unit_cost`` are caps; ``standard`` is a fixed subsidy standard;
    ``cost`` is the project's total cost in 万元 (target = budget); ``qualitative`` reports
    achievement as a fraction; ``satisfaction`` is surveyed near year-end.
    """

    level1: str
    level2: str | None
    name: str
    kind: str
    unit: str | None = None
    low: int = 0
    high: int = 0


def _i(
    level1: str,
    level2: str | None,
    name: str,
    kind: str,
    unit: str | None = None,
    low: int = 0,
    high: int = 0,
) -> IndicatorTemplate:
    return IndicatorTemplate(level1, level2, name, kind, unit, low, high)


OUT, BEN, SAT = "output", "benefit", "satisfaction"
QTY, QLT, TIM, CST = "quantity", "quality", "timeliness", "cost"
ECON, SOCL, ECOL, SUST = "economic", "social", "ecological", "sustainability"

GENERIC_INDICATORS: tuple[IndicatorTemplate, ...] = (
    _i(OUT, QTY, "完成工作任务数", "count", "项", 5, 40),
    _i(OUT, QTY, "开展培训场次", "count", "场", 4, 30),
    _i(OUT, QTY, "保障服务人数", "count", "人", 20, 600),
    _i(OUT, QTY, "购置设备数量", "count", "台(套)", 5, 80),
    _i(OUT, QTY, "覆盖村（社区）数", "count", "个", 5, 144),
    _i(OUT, QLT, "资金使用合规率", "rate", "%", 100, 100),
    _i(OUT, QLT, "任务完成合格率", "rate", "%", 95, 100),
    _i(OUT, QLT, "验收合格率", "rate", "%", 95, 100),
    _i(OUT, TIM, "资金拨付及时率", "rate", "%", 95, 100),
    _i(OUT, TIM, "资金拨付时限", "days", "天", 15, 30),
    _i(OUT, CST, "项目成本控制", "cost", "万元"),
    _i(BEN, SOCL, "服务保障能力提升", "qualitative"),
    _i(BEN, SOCL, "群众办事便利度提升", "qualitative"),
    _i(BEN, SOCL, "受益群众人数", "count", "人", 500, 20000),
    _i(BEN, SUST, "长效管理机制建立", "qualitative"),
    _i(BEN, SUST, "持续发挥作用年限", "level", "年", 3, 10),
    _i(SAT, None, "服务对象满意度", "satisfaction", "%", 85, 95),
)

CATEGORY_INDICATORS: dict[str, tuple[IndicatorTemplate, ...]] = {
    EDU: (
        _i(OUT, QTY, "资助学生人次", "count", "人次", 500, 9000),
        _i(OUT, QTY, "保障义务教育学生数", "count", "人", 3000, 25000),
        _i(OUT, QTY, "维修改造校舍面积", "count", "平方米", 1000, 20000),
        _i(OUT, QTY, "培训教师人次", "count", "人次", 100, 1500),
        _i(OUT, QTY, "新增学位数", "count", "个", 90, 900),
        _i(OUT, QLT, "资助对象认定准确率", "rate", "%", 100, 100),
        _i(OUT, QLT, "校舍安全达标率", "rate", "%", 100, 100),
        _i(OUT, CST, "小学生均公用经费标准", "standard", "元/生·年", 650, 650),
        _i(OUT, CST, "营养膳食补助标准", "standard", "元/生·天", 5, 5),
        _i(BEN, SOCL, "义务教育巩固率", "rate", "%", 98, 99),
        _i(BEN, SOCL, "促进教育公平", "qualitative"),
        _i(BEN, SOCL, "办学条件改善", "qualitative"),
        _i(BEN, SUST, "教育均衡发展水平持续提升", "qualitative"),
        _i(SAT, None, "学生及家长满意度", "satisfaction", "%", 90, 95),
    ),
    SCI: (
        _i(OUT, QTY, "支持科技项目数", "count", "个", 5, 40),
        _i(OUT, QTY, "培育高新技术企业数", "count", "家", 2, 15),
        _i(OUT, QTY, "选派科技特派员人数", "count", "人", 20, 120),
        _i(OUT, QTY, "开展科普活动场次", "count", "场次", 10, 60),
        _i(OUT, QLT, "项目验收通过率", "rate", "%", 90, 95),
        _i(BEN, ECON, "带动企业新增产值", "count", "万元", 500, 8000),
        _i(BEN, SOCL, "公民科学素质提升", "qualitative"),
        _i(BEN, SUST, "区域科技创新能力增强", "qualitative"),
        _i(SAT, None, "科技企业满意度", "satisfaction", "%", 90, 95),
    ),
    POV: (
        _i(OUT, QTY, "受益脱贫户数", "count", "户", 200, 3000),
        _i(OUT, QTY, "培训脱贫劳动力人次", "count", "人次", 100, 1500),
        _i(OUT, QTY, "到户产业补助户数", "count", "户", 100, 2000),
        _i(OUT, QLT, "项目验收合格率", "rate", "%", 100, 100),
        _i(OUT, QLT, "防返贫监测对象帮扶覆盖率", "rate", "%", 100, 100),
        _i(OUT, CST, "到户产业补助标准", "unit_cost", "元/户", 3000, 6000),
        _i(BEN, ECON, "带动脱贫户户均增收", "level", "元/户", 1000, 3000),
        _i(BEN, SOCL, "巩固拓展脱贫攻坚成果", "qualitative"),
        _i(BEN, SUST, "不发生规模性返贫", "qualitative"),
        _i(SAT, None, "受益群众满意度", "satisfaction", "%", 90, 95),
    ),
    ENV: (
        _i(OUT, QTY, "治理污染源数量", "count", "个", 5, 60),
        _i(OUT, QTY, "清洁取暖改造户数", "count", "户", 200, 3000),
        _i(OUT, QTY, "农村生活污水治理村数", "count", "个", 2, 20),
        _i(OUT, QLT, "工程验收合格率", "rate", "%", 100, 100),
        _i(BEN, ECOL, "空气质量优良天数比例", "rate", "%", 78, 85),
        _i(BEN, ECOL, "主要污染物减排量", "count", "吨", 50, 800),
        _i(BEN, ECOL, "黄河干流出境断面水质稳定达标", "qualitative"),
        _i(BEN, SUST, "生态环境质量持续改善", "qualitative"),
        _i(SAT, None, "周边群众满意度", "satisfaction", "%", 85, 90),
    ),
    AFW: (
        _i(OUT, QTY, "建设高标准农田面积", "count", "亩", 5000, 60000),
        _i(OUT, QTY, "补贴发放面积", "count", "亩", 100000, 600000),
        _i(OUT, QTY, "完成营造林面积", "count", "亩", 500, 8000),
        _i(OUT, QTY, "清淤排水沟长度", "count", "公里", 20, 300),
        _i(OUT, QTY, "改造供水管网长度", "count", "公里", 10, 150),
        _i(OUT, QTY, "补贴农机具数量", "count", "台", 100, 1500),
        _i(OUT, QLT, "工程验收合格率", "rate", "%", 100, 100),
        _i(OUT, QLT, "苗木成活率", "rate", "%", 85, 90),
        _i(OUT, QLT, "动物免疫密度", "rate", "%", 90, 95),
        _i(OUT, CST, "亩均建设成本", "unit_cost", "元/亩", 1200, 3000),
        _i(BEN, ECON, "粮食亩均增产", "level", "公斤", 20, 80),
        _i(BEN, ECON, "带动农户户均增收", "level", "元/户", 800, 3000),
        _i(BEN, ECOL, "年节约用水量", "count", "万立方米", 50, 800),
        _i(BEN, SOCL, "农村供水保障水平提升", "qualitative"),
        _i(BEN, SUST, "工程设计使用年限", "level", "年", 15, 30),
        _i(SAT, None, "受益农户满意度", "satisfaction", "%", 90, 95),
    ),
    SOC: (
        _i(OUT, QTY, "保障低保对象人数", "count", "人", 3000, 12000),
        _i(OUT, QTY, "发放高龄津贴人数", "count", "人", 1000, 6000),
        _i(OUT, QTY, "城乡居民参保人数", "count", "人", 80000, 200000),
        _i(OUT, QTY, "培训农民工人次", "count", "人次", 500, 5000),
        _i(OUT, QTY, "开发公益性岗位数", "count", "个", 50, 500),
        _i(OUT, QLT, "补助资金发放准确率", "rate", "%", 100, 100),
        _i(OUT, QLT, "基本养老保险参保率", "rate", "%", 95, 98),
        _i(OUT, TIM, "补贴资金按月发放率", "rate", "%", 100, 100),
        _i(OUT, CST, "农村低保标准", "standard", "元/人·年", 5280, 5280),
        _i(BEN, SOCL, "城镇新增就业人数", "count", "人", 1000, 3000),
        _i(BEN, SOCL, "困难群众基本生活得到保障", "qualitative"),
        _i(BEN, SUST, "社会救助体系持续完善", "qualitative"),
        _i(SAT, None, "救助对象满意度", "satisfaction", "%", 90, 95),
    ),
    CUL: (
        _i(OUT, QTY, "开展文化活动场次", "count", "场", 30, 300),
        _i(OUT, QTY, "放映农村公益电影场次", "count", "场", 1000, 2000),
        _i(OUT, QTY, "免费开放天数", "count", "天", 280, 330),
        _i(OUT, QTY, "修缮文物建筑面积", "count", "平方米", 200, 2000),
        _i(OUT, QTY, "举办体育赛事次数", "count", "次", 5, 30),
        _i(OUT, QLT, "设施设备完好率", "rate", "%", 95, 98),
        _i(BEN, SOCL, "参与群众人次", "count", "人次", 10000, 150000),
        _i(BEN, SOCL, "丰富群众精神文化生活", "qualitative"),
        _i(BEN, SUST, "文化遗产保护传承", "qualitative"),
        _i(SAT, None, "群众满意度", "satisfaction", "%", 90, 95),
    ),
    HOU: (
        _i(OUT, QTY, "改造老旧小区户数", "count", "户", 300, 3000),
        _i(OUT, QTY, "改造小区个数", "count", "个", 3, 30),
        _i(OUT, QTY, "维修公租房套数", "count", "套", 50, 600),
        _i(OUT, QTY, "发放租赁补贴户数", "count", "户", 50, 500),
        _i(OUT, QTY, "改造农村危房户数", "count", "户", 20, 300),
        _i(OUT, QLT, "工程验收合格率", "rate", "%", 100, 100),
        _i(OUT, CST, "户均改造成本", "unit_cost", "元/户", 15000, 40000),
        _i(BEN, SOCL, "居民居住条件改善", "qualitative"),
        _i(BEN, SOCL, "受益居民户数", "count", "户", 300, 3000),
        _i(BEN, SUST, "小区长效管理机制建立", "qualitative"),
        _i(SAT, None, "居民满意度", "satisfaction", "%", 90, 95),
    ),
    TRA: (
        _i(OUT, QTY, "治理安全隐患点数量", "count", "处", 20, 200),
        _i(OUT, QTY, "养护农村公路里程", "count", "公里", 200, 1200),
        _i(OUT, QTY, "新改建农村公路里程", "count", "公里", 10, 80),
        _i(OUT, QTY, "改造危桥数量", "count", "座", 2, 12),
        _i(OUT, QTY, "补贴运营车辆数", "count", "辆", 30, 200),
        _i(OUT, QLT, "工程验收合格率", "rate", "%", 100, 100),
        _i(OUT, QLT, "农村公路优良路率", "rate", "%", 75, 85),
        _i(OUT, TIM, "隐患整改按期完成率", "rate", "%", 95, 100),
        _i(BEN, SOCL, "群众出行条件改善", "qualitative"),
        _i(BEN, SOCL, "道路交通事故发生率下降", "qualitative"),
        _i(BEN, ECON, "降低农村物流运输成本", "qualitative"),
        _i(BEN, SUST, "公路设计使用年限", "level", "年", 10, 20),
        _i(SAT, None, "群众出行满意度", "satisfaction", "%", 90, 95),
    ),
}
