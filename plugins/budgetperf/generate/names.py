"""Names of the county: budget units (部门/单位), townships, villages, counties, payees.

Modelled on Pingluo County (平罗县, Shizuishan, Ningxia): its 13 townships, its bureaus
after the 2019 institutional reform, and the subordinate units that hold their own
budgets. ``{county}`` in a name is replaced by the county's name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class County:
    name: str
    pinyin: str
    abbr: str  # pinyin initials used in e-mail addresses (平罗县 -> plx)


PINGLUO = County("平罗县", "pingluo", "plx")

# Other Ningxia counties and districts lend their names to the extra copies of --scale.
OTHER_COUNTIES: tuple[County, ...] = (
    County("贺兰县", "helan", "hlx"),
    County("永宁县", "yongning", "ynx"),
    County("灵武市", "lingwu", "lws"),
    County("青铜峡市", "qingtongxia", "qtxs"),
    County("盐池县", "yanchi", "ycx"),
    County("同心县", "tongxin", "txx"),
    County("西吉县", "xiji", "xjx"),
    County("隆德县", "longde", "ldx"),
    County("泾源县", "jingyuan", "jyx"),
    County("彭阳县", "pengyang", "pyx"),
    County("中宁县", "zhongning", "znx"),
    County("海原县", "haiyuan", "hyx"),
    County("惠农区", "huinong", "hnq"),
    County("大武口区", "dawukou", "dwkq"),
    County("利通区", "litong", "ltq"),
    County("红寺堡区", "hongsibu", "hsbq"),
    County("原州区", "yuanzhou", "yzq"),
    County("沙坡头区", "shapotou", "sptq"),
)

# Contact addresses use a reserved domain (RFC 2606 `.example`): the demo sends real
# notices, and a realistic 163.com address might belong to someone.
EMAIL_DOMAIN = "{pinyin}.gov.example"


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """A budget unit of the county, as the integration system lists it."""

    code: str  # 3 digits of the competent department + 3 of the unit
    name: str
    kind: str  # department | township
    sector: str | None
    abbr: str
    pool: str  # project template pool (catalog.PROJECT_POOLS)
    weight: int  # relative number of projects
    categories: tuple[str, ...] = ()  # special categories declared (the 13 departments)
    years: tuple[int, ...] = (2021, 2022)  # years with county-fund projects
    evaluated: bool = False  # pilot of 部门整体支出绩效评价 in 2021


def _u(
    code: str,
    name: str,
    abbr: str,
    pool: str,
    weight: int,
    sector: str | None = None,
    *,
    kind: str = "department",
    categories: tuple[str, ...] = (),
    years: tuple[int, ...] = (2021, 2022),
    evaluated: bool = False,
) -> UnitSpec:
    return UnitSpec(code, name, kind, sector, abbr, pool, weight, categories, years, evaluated)


GENERAL = "一般公共服务"
EDU = "教育科技"
AGRI = "农业农村"
ECO = "生态环境"
SOCIAL = "社会保障"
CULTURE = "文化旅游"
HOUSING = "住房城建"
TRANSPORT = "交通运输"

# The 13 departments whose indicator systems cover the nine special categories, in 7
# sectors (report: 绩效评价目标体系覆盖七个行业十三个部门).
UNITS: tuple[UnitSpec, ...] = (
    _u("101001", "中共{county}委员会办公室", "xwb", "party", 3, GENERAL),
    _u("102001", "{county}人民政府办公室", "zfb", "government", 4, GENERAL),
    _u("103001", "{county}人大常委会办公室", "rdb", "party", 2, GENERAL),
    _u("104001", "政协{county}委员会办公室", "zxb", "party", 2, GENERAL),
    _u("105001", "中共{county}纪律检查委员会", "jw", "party", 2, GENERAL),
    _u("106001", "中共{county}委员会组织部", "zzb", "organization", 3, GENERAL),
    _u("107001", "中共{county}委员会宣传部", "xcb", "publicity", 3, GENERAL),
    _u("106002", "中共{county}委员会老干部局", "lgb", "party", 1, GENERAL),
    _u("106003", "中共{county}委员会机构编制委员会办公室", "bb", "party", 1, GENERAL),
    _u("108001", "中共{county}委员会统一战线工作部", "tzb", "party", 1, GENERAL),
    _u("109001", "中共{county}委员会政法委员会", "zfw", "politics_law", 2, "公共安全"),
    _u("110001", "{county}发展和改革局", "fgj", "development", 3, GENERAL),
    _u("111001", "{county}财政局", "czj", "finance", 5, GENERAL),
    _u("111002", "{county}财政投资评审中心", "tzps", "unit", 1, GENERAL),
    _u(
        "112001",
        "{county}教育体育局",
        "jytyj",
        "education",
        14,
        EDU,
        categories=("education", "culture_sports_media"),
    ),
    _u("112002", "{short}中学", "plzx", "school", 2, EDU),
    _u("112003", "{county}第四中学", "dszx", "school", 1, EDU),
    _u("112004", "{county}第五中学", "dwzx", "school", 1, EDU),
    _u("112005", "{county}第六中学", "dlzx", "school", 1, EDU),
    _u("112006", "{county}回民中学", "hmzx", "school", 1, EDU),
    _u("112007", "{county}姚伏中学", "yfzx", "school", 1, EDU),
    _u("112008", "{county}职业教育中心", "zjzx", "school", 2, EDU),
    _u("112009", "{county}第一小学", "dyxx", "school", 1, EDU),
    _u("112010", "{county}第二小学", "dexx", "school", 1, EDU),
    _u("112011", "{county}第三小学", "dsxx", "school", 1, EDU),
    _u("112012", "{county}第四小学", "dsixx", "school", 1, EDU),
    _u("112013", "{county}第五小学", "dwxx", "school", 1, EDU),
    _u("112014", "{county}第六小学", "dlxx", "school", 1, EDU),
    _u("112021", "{county}第七小学", "dqxx", "school", 1, EDU),
    _u("112015", "{county}陶乐学校", "tlxx", "school", 1, EDU),
    _u("112016", "{county}特殊教育学校", "tjxx", "school", 1, EDU),
    _u("112017", "{county}第一幼儿园", "dyyey", "school", 1, EDU),
    _u("112018", "{county}第二幼儿园", "deyey", "school", 1, EDU),
    _u("112019", "{county}第三幼儿园", "dsyey", "school", 1, EDU),
    _u("112020", "{county}青少年校外活动中心", "qsn", "school", 1, EDU),
    _u("113001", "{county}科学技术局", "kjj", "science", 5, EDU, categories=("science_tech",)),
    _u("114001", "{county}工业信息化和商务局", "gxsw", "industry", 4, "工业商务"),
    _u("115001", "{county}公安局", "gaj", "police", 6, "公共安全", evaluated=True),
    _u(
        "116001",
        "{county}民政局",
        "mzj",
        "civil_affairs",
        6,
        SOCIAL,
        categories=("social_security",),
    ),
    _u("116002", "{county}社会福利院", "shfly", "unit", 1, SOCIAL),
    _u("116003", "{county}救助管理站", "jzgl", "unit", 1, SOCIAL),
    _u("117001", "{county}司法局", "sfj", "justice", 2, "公共安全"),
    _u(
        "118001",
        "{county}人力资源和社会保障局",
        "rsj",
        "hrss",
        6,
        SOCIAL,
        categories=("social_security",),
    ),
    _u("118002", "{county}就业创业和人才服务中心", "jycy", "unit", 2, SOCIAL),
    _u("118003", "{county}社会保险事业管理中心", "sbzx", "unit", 1, SOCIAL),
    _u(
        "119001",
        "{county}自然资源局",
        "zrzyj",
        "natural_resources",
        7,
        AGRI,
        categories=("agriculture_forestry_water",),
    ),
    _u("119002", "{county}不动产登记中心", "bdc", "unit", 1, AGRI),
    _u("119003", "{county}林业技术推广服务中心", "lytg", "agri_unit", 1, AGRI),
    _u("119004", "{county}国有林场", "gylc", "agri_unit", 1, AGRI),
    _u(
        "120001",
        "石嘴山市生态环境局{county}分局",
        "sthj",
        "environment",
        5,
        ECO,
        categories=("environment",),
    ),
    _u(
        "121001",
        "{county}住房和城乡建设局",
        "zjj",
        "housing",
        8,
        HOUSING,
        categories=("housing_security",),
    ),
    _u("121002", "{county}市政设施服务中心", "szss", "unit", 2, HOUSING),
    _u("121003", "{county}环境卫生服务中心", "hwzx", "unit", 2, HOUSING),
    _u("121004", "{county}园林绿化服务中心", "yllh", "unit", 1, HOUSING),
    _u("121005", "{county}住房保障服务中心", "zfbz", "unit", 1, HOUSING),
    _u(
        "122001",
        "{county}交通运输局",
        "jtj",
        "transport",
        7,
        TRANSPORT,
        categories=("transportation",),
    ),
    _u("122002", "{county}农村公路管理服务中心", "ncgl", "unit", 1, TRANSPORT),
    _u("122003", "{county}交通运输综合行政执法大队", "jtzf", "unit", 1, TRANSPORT),
    _u(
        "123001",
        "{county}水务局",
        "swj",
        "water",
        7,
        AGRI,
        categories=("agriculture_forestry_water",),
    ),
    _u("123002", "{county}河湖管理服务中心", "hhgl", "agri_unit", 1, AGRI),
    _u("123003", "{county}节约用水服务中心", "jyys", "agri_unit", 1, AGRI, years=()),
    _u(
        "124001",
        "{county}农业农村局",
        "nyncj",
        "agriculture",
        11,
        AGRI,
        categories=("agriculture_forestry_water", "poverty_alleviation"),
    ),
    _u("124002", "{county}农业技术推广服务中心", "nytg", "agri_unit", 2, AGRI),
    _u("124003", "{county}畜牧水产技术推广服务中心", "xmsc", "agri_unit", 2, AGRI),
    _u("124004", "{county}农业综合行政执法大队", "nyzf", "agri_unit", 1, AGRI),
    _u("124005", "{county}农村经济经营管理站", "ncjj", "agri_unit", 1, AGRI),
    _u("124006", "{county}动物疾病预防控制中心", "dwjk", "agri_unit", 1, AGRI),
    _u("124007", "{county}农业机械化技术推广服务站", "njtg", "agri_unit", 1, AGRI),
    _u(
        "125001",
        "{county}乡村振兴局",
        "xczxj",
        "rural_revival",
        6,
        AGRI,
        categories=("poverty_alleviation",),
    ),
    _u("125002", "{county}扶贫开发服务中心", "fpkf", "unit", 1, AGRI, years=(2021,)),
    _u(
        "126001",
        "{county}文化旅游广电局",
        "wlgdj",
        "culture",
        6,
        CULTURE,
        categories=("culture_sports_media",),
    ),
    _u("126002", "{county}文化馆", "whg", "culture_unit", 1, CULTURE),
    _u("126003", "{county}图书馆", "tsg", "culture_unit", 1, CULTURE),
    _u("126004", "{county}文物管理所", "wwgl", "culture_unit", 1, CULTURE),
    _u("127001", "{county}卫生健康局", "wjj", "health", 8, "卫生健康", evaluated=True),
    _u("127002", "{county}人民医院", "rmyy", "hospital", 3, "卫生健康"),
    _u("127003", "{county}中医医院", "zyyy", "hospital", 2, "卫生健康"),
    _u("127004", "{county}妇幼保健计划生育服务中心", "fybj", "hospital", 1, "卫生健康"),
    _u("127005", "{county}疾病预防控制中心", "jkzx", "hospital", 2, "卫生健康"),
    _u("127006", "{county}卫生健康监督所", "wsjd", "unit", 1, "卫生健康"),
    _u("127007", "{county}姚伏镇中心卫生院", "yfwsy", "hospital", 1, "卫生健康"),
    _u("127008", "{county}黄渠桥镇中心卫生院", "hqqwsy", "hospital", 1, "卫生健康"),
    _u("127009", "{county}陶乐镇中心卫生院", "tlwsy", "hospital", 1, "卫生健康"),
    _u("127010", "{county}宝丰镇卫生院", "bfwsy", "hospital", 1, "卫生健康"),
    _u("127011", "{county}头闸镇卫生院", "tzwsy", "hospital", 1, "卫生健康"),
    _u("128001", "{county}退役军人事务局", "tyjr", "veterans", 3, SOCIAL),
    _u("129001", "{county}应急管理局", "yjj", "emergency", 3, "公共安全"),
    _u("130001", "{county}审计局", "sjj", "unit", 1, GENERAL),
    _u("131001", "{county}市场监督管理局", "scjg", "market", 3, "市场监管"),
    _u("131002", "{county}检验检测中心", "jyjc", "unit", 1, "市场监管", years=()),
    _u("132001", "{county}统计局", "tjj", "unit", 1, GENERAL),
    _u(
        "132002",
        "{county}第七次全国人口普查领导小组办公室",
        "rkpc",
        "census",
        1,
        GENERAL,
        years=(2021,),
    ),
    _u(
        "133001",
        "{county}医疗保障局",
        "ybj",
        "medical_insurance",
        5,
        SOCIAL,
        categories=("social_security",),
    ),
    _u("134001", "{county}信访局", "xfj", "unit", 1, GENERAL),
    _u("135001", "{county}机关事务服务中心", "jgsw", "government", 2, GENERAL),
    _u("136001", "{county}融媒体中心", "rmt", "media", 2, CULTURE),
    _u("137001", "{county}综合执法局", "zhzf", "urban_management", 4, "城乡社区"),
    _u("138001", "{county}行政审批服务局", "xzsp", "unit", 2, GENERAL),
    _u("139001", "{county}妇女联合会", "fl", "unit", 1, GENERAL),
    _u("140001", "共青团{county}委员会", "tw", "unit", 1, GENERAL),
    _u("141001", "{county}总工会", "zgh", "unit", 1, GENERAL),
    _u("142001", "{county}残疾人联合会", "cl", "unit", 2, SOCIAL),
    _u("143001", "{county}工商业联合会", "gsl", "unit", 1, GENERAL),
    _u("144001", "{county}科学技术协会", "kx", "unit", 1, EDU),
    _u("145001", "中共{county}委员会党校", "dx", "unit", 1, EDU),
    _u("146001", "{county}人民法院", "fy", "court", 2, "公共安全"),
    _u("147001", "{county}人民检察院", "jcy", "court", 2, "公共安全"),
    _u("148001", "{county}档案馆", "dag", "unit", 1, GENERAL, years=()),
    _u("149001", "{county}人民武装部", "wzb", "unit", 1, "公共安全", years=()),
    _u("150001", "{county}投资促进服务中心", "tzcj", "unit", 1, GENERAL, years=(2021,)),
    _u("151001", "{county}社会治理服务中心", "shzl", "unit", 1, "公共安全", years=(2022,)),
    _u("152001", "{county}城市社区党群服务中心", "sqdq", "unit", 1, GENERAL),
    # The 13 townships (7 towns, 6 townships) after the 2003 administrative adjustment.
    *(
        _u(f"{301 + i}001", f"{{county}}{town}人民政府", abbr, "township", 6, kind="township")
        for i, (town, abbr) in enumerate(
            (
                ("城关镇", "cgz"),
                ("黄渠桥镇", "hqqz"),
                ("宝丰镇", "bfz"),
                ("头闸镇", "tzz"),
                ("姚伏镇", "yfz"),
                ("崇岗镇", "cgangz"),
                ("陶乐镇", "tlz"),
                ("高庄乡", "gzx"),
                ("灵沙乡", "lsx"),
                ("渠口乡", "qkx"),
                ("通伏乡", "tfx"),
                ("高仁乡", "grx"),
                ("红崖子乡", "hyzx"),
            )
        )
    ),
)

VILLAGES: tuple[str, ...] = (
    "东风村",
    "前进村",
    "新丰村",
    "红星村",
    "永丰村",
    "胜利村",
    "和平村",
    "团结村",
    "星火村",
    "光明村",
    "新华村",
    "庙庙湖村",
    "沙湖村",
    "金星村",
    "明水村",
    "雷家村",
    "潮湖村",
    "四分村",
    "黄渠村",
    "五香村",
    "下庙村",
    "六顷地村",
    "高荣村",
    "头闸村",
    "马场村",
    "燕子墩村",
)

# Payee name parts: 宁夏 + 字号 + 行业 + 有限公司 reads like the suppliers of a Ningxia county.
PAYEE_PREFIXES: tuple[str, ...] = ("宁夏", "宁夏", "石嘴山市", "{county}", "银川")
PAYEE_BRANDS: tuple[str, ...] = (
    "鑫源",
    "恒达",
    "金沙",
    "塞上",
    "沙湖",
    "贺兰山",
    "天元",
    "宏远",
    "中泰",
    "瑞丰",
    "博远",
    "兴庆",
    "盛世",
    "华美",
    "泰和",
    "丰源",
    "嘉禾",
    "宏图",
    "润泽",
    "绿洲",
    "金盛",
    "新天地",
    "众诚",
    "正大",
    "利民",
    "宝塔",
    "通达",
    "昊宇",
    "长城",
    "银河",
    "凤城",
    "黄河",
)
PAYEE_TRADES: dict[str, tuple[str, ...]] = {
    "construction": (
        "建设工程",
        "建筑安装工程",
        "市政工程",
        "路桥工程",
        "水利水电工程",
        "园林绿化工程",
    ),
    "goods": ("商贸", "办公设备", "教学仪器", "医疗器械", "农资", "电子科技", "印务"),
    "services": (
        "信息技术",
        "物业服务",
        "会计师事务所",
        "工程咨询",
        "环保科技",
        "检测技术",
        "餐饮管理",
    ),
    "agriculture": ("农业科技", "农牧", "种业", "农机服务", "生态农业", "枸杞产业"),
}
PAYEE_SUFFIXES: tuple[str, ...] = ("有限公司", "有限公司", "有限责任公司")
UTILITY_PAYEES: tuple[str, ...] = (
    "国网宁夏电力有限公司石嘴山供电公司",
    "中国电信股份有限公司石嘴山分公司",
    "中国石化销售股份有限公司宁夏石嘴山石油分公司",
    "国家税务总局{county}税务局",
    "{county}住房公积金管理部",
)
