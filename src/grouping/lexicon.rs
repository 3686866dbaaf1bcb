//! Word lists behind place extraction and term weighting.
//!
//! These are domain knowledge about Chinese complaint letters, not statistics: the suffixes that
//! end the name of a residential estate, road, school, company or government unit, the words
//! that never belong to a name, and the boilerplate of a letter to the government (尊敬的领导,
//! 希望尽快解决) that says nothing about which problem it is. Term weights still come from
//! document frequencies; the boilerplate list only keeps those words from looking distinctive
//! while the engine has seen few complaints.

use serde::{Deserialize, Serialize};

/// What kind of named place or organisation a mention is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// A residential estate, village or community: 小区, 花园, 苑, 新村, 村.
    Estate,
    /// A road, street, bridge or tunnel: 路, 街, 大道, 隧道.
    Road,
    /// A school or college: 小学, 中学, 学院, 幼儿园.
    School,
    /// A hospital or clinic.
    Hospital,
    /// A company, shop, market or other business: 公司, 集团, 酒店, 市场, 搅拌站.
    Company,
    /// A government unit: 局, 委, 派出所, 街道办.
    Unit,
    /// A landmark, square, park or station: 广场, 公园, 车站.
    Landmark,
    /// A town, township or sub-district (镇, 乡, 街道): an area holding many issues.
    Town,
}

impl PlaceKind {
    /// Every kind, in a stable order.
    pub const ALL: [PlaceKind; 8] = [
        PlaceKind::Estate,
        PlaceKind::Road,
        PlaceKind::School,
        PlaceKind::Hospital,
        PlaceKind::Company,
        PlaceKind::Unit,
        PlaceKind::Landmark,
        PlaceKind::Town,
    ];
}

/// A place suffix: the characters a name ends with, its kind, and whether the suffix is a
/// generic word people often leave out (魅力之城小区 = 魅力之城), so the key drops it.
pub(crate) struct PlaceSuffix {
    pub(crate) text: &'static str,
    pub(crate) kind: PlaceKind,
    pub(crate) droppable: bool,
}

const fn suffix(text: &'static str, kind: PlaceKind, droppable: bool) -> PlaceSuffix {
    PlaceSuffix {
        text,
        kind,
        droppable,
    }
}

/// Place suffixes, longest first within a shared ending so the longest one wins.
pub(crate) const PLACE_SUFFIXES: &[PlaceSuffix] = &[
    suffix("小区", PlaceKind::Estate, true),
    suffix("片区", PlaceKind::Estate, true),
    suffix("花园", PlaceKind::Estate, false),
    suffix("家园", PlaceKind::Estate, false),
    suffix("嘉园", PlaceKind::Estate, false),
    suffix("苑", PlaceKind::Estate, false),
    suffix("公寓", PlaceKind::Estate, false),
    suffix("新村", PlaceKind::Estate, false),
    suffix("新城", PlaceKind::Estate, false),
    suffix("山庄", PlaceKind::Estate, false),
    suffix("庄园", PlaceKind::Estate, false),
    suffix("华庭", PlaceKind::Estate, false),
    suffix("华府", PlaceKind::Estate, false),
    suffix("公馆", PlaceKind::Estate, false),
    suffix("宿舍", PlaceKind::Estate, false),
    suffix("社区", PlaceKind::Estate, false),
    suffix("村", PlaceKind::Estate, false),
    suffix("大道", PlaceKind::Road, false),
    suffix("大街", PlaceKind::Road, false),
    suffix("公路", PlaceKind::Road, false),
    suffix("路", PlaceKind::Road, false),
    suffix("街", PlaceKind::Road, false),
    suffix("巷", PlaceKind::Road, false),
    suffix("隧道", PlaceKind::Road, false),
    suffix("大桥", PlaceKind::Road, false),
    suffix("立交", PlaceKind::Road, false),
    suffix("幼儿园", PlaceKind::School, false),
    suffix("学校", PlaceKind::School, false),
    suffix("小学", PlaceKind::School, false),
    suffix("中学", PlaceKind::School, false),
    suffix("大学", PlaceKind::School, false),
    suffix("学院", PlaceKind::School, false),
    suffix("职校", PlaceKind::School, false),
    suffix("技校", PlaceKind::School, false),
    suffix("卫生院", PlaceKind::Hospital, false),
    suffix("医院", PlaceKind::Hospital, false),
    suffix("诊所", PlaceKind::Hospital, false),
    suffix("卫生室", PlaceKind::Hospital, false),
    suffix("公司", PlaceKind::Company, false),
    suffix("集团", PlaceKind::Company, false),
    suffix("银行", PlaceKind::Company, false),
    suffix("酒店", PlaceKind::Company, false),
    suffix("宾馆", PlaceKind::Company, false),
    suffix("超市", PlaceKind::Company, false),
    suffix("商场", PlaceKind::Company, false),
    suffix("市场", PlaceKind::Company, false),
    suffix("工厂", PlaceKind::Company, false),
    suffix("厂", PlaceKind::Company, false),
    suffix("物业", PlaceKind::Company, false),
    suffix("地产", PlaceKind::Company, false),
    suffix("置业", PlaceKind::Company, false),
    suffix("驾校", PlaceKind::Company, false),
    suffix("搅拌站", PlaceKind::Company, false),
    suffix("加油站", PlaceKind::Company, false),
    suffix("营业厅", PlaceKind::Company, false),
    suffix("派出所", PlaceKind::Unit, false),
    suffix("管委会", PlaceKind::Unit, false),
    suffix("居委会", PlaceKind::Unit, false),
    suffix("村委会", PlaceKind::Unit, false),
    suffix("委员会", PlaceKind::Unit, false),
    suffix("街道办", PlaceKind::Unit, false),
    suffix("大队", PlaceKind::Unit, false),
    suffix("支队", PlaceKind::Unit, false),
    suffix("中队", PlaceKind::Unit, false),
    suffix("法院", PlaceKind::Unit, false),
    suffix("检察院", PlaceKind::Unit, false),
    suffix("局", PlaceKind::Unit, false),
    suffix("委", PlaceKind::Unit, false),
    suffix("厅", PlaceKind::Unit, false),
    suffix("广场", PlaceKind::Landmark, false),
    suffix("公园", PlaceKind::Landmark, false),
    suffix("大厦", PlaceKind::Landmark, false),
    suffix("大楼", PlaceKind::Landmark, false),
    suffix("车站", PlaceKind::Landmark, false),
    suffix("地铁站", PlaceKind::Landmark, false),
    suffix("公交站", PlaceKind::Landmark, false),
    suffix("步行街", PlaceKind::Landmark, false),
    suffix("商业街", PlaceKind::Landmark, false),
    suffix("景区", PlaceKind::Landmark, false),
    suffix("水库", PlaceKind::Landmark, false),
    suffix("街道", PlaceKind::Town, false),
    suffix("镇", PlaceKind::Town, false),
    suffix("乡", PlaceKind::Town, false),
];

/// Words that end with a place suffix but are ordinary words (政府 is not a 府, 道路 is not a
/// named road). A mention needs a name before them, and they are never part of a name.
#[rustfmt::skip]
pub(crate) const GENERIC_PLACE_WORDS: &[&str] = &[
    "小区", "片区", "社区", "花园", "家园", "公寓", "宿舍", "村", "农村", "乡村", "新村", "道路", "马路", "公路", "铁路", "线路",
    "思路", "出路", "一路", "走路", "修路", "大路", "小路", "半路", "沿路", "套路", "退路", "网路", "电路", "水路", "路", "街",
    "上街", "大街", "街道", "学校", "小学", "中学", "大学", "学院", "幼儿园", "医院", "诊所", "公司", "集团", "银行", "酒店",
    "超市", "商场", "市场", "工厂", "厂", "物业", "地产", "驾校", "局", "委", "厅", "广场", "公园", "大厦", "大楼", "车站",
    "景区", "镇", "乡", "城乡", "家乡", "下乡", "老乡", "同乡", "故乡", "农业局", "当局", "格局", "布局", "结局", "大局", "全局",
    "开局", "饭局", "骗局", "邮局", "主委", "编委", "常委", "纪委", "大厅", "餐厅", "客厅", "门厅", "公安厅", "办公厅", "市场监管局",
    "相关局", "分局", "总局", "电视台", "乡镇", "城镇", "村镇", "各村", "本村", "物业公司", "子公司", "分公司", "总公司", "母公司",
    "该公司", "本公司", "大公司", "小公司", "不同公司", "各公司", "学院", "医院", "该校", "本校", "新区", "老区", "城区", "市区",
];

/// Verbs that occur inside company names (鑫达房地产开发有限公司); other verbs end a name.
#[rustfmt::skip]
pub(crate) const COMPANY_NAME_VERBS: &[&str] = &[
    "开发", "发展", "建设", "投资", "管理", "经营", "服务", "制造", "生产", "咨询", "运输", "销售", "租赁", "装饰", "设计", "培训",
    "加工", "置业", "实业", "控股", "物流", "科技",
];

/// Names that every county has (人民医院, 实验小学): a place only with its admin area.
#[rustfmt::skip]
pub(crate) const GENERIC_INSTITUTIONS: &[&str] = &[
    "人民医院", "第一人民医院", "第二人民医院", "中医院", "中心医院", "妇幼保健院", "儿童医院", "人民法院", "中级人民法院", "实验小学", "实验中学",
    "中心小学", "中心学校", "第一中学", "第二中学", "第三中学", "职业中学", "中心幼儿园", "机关幼儿园", "汽车站", "火车站", "客运站", "汽车南站",
    "汽车北站", "汽车西站", "汽车东站", "高铁站", "人民公园", "人民广场", "体育中心", "文化广场", "工业园", "开发区", "市中心医院", "普通高中",
    "招投标市场", "新农村", "美丽乡村", "城中村", "自然村", "行政村", "小城镇", "公办学校", "民办学校", "私立学校", "公立学校", "中小学校",
    "民办幼儿园", "公办幼儿园",
];

/// Words that never belong to a place name even when tagged as nouns: who writes, whom they
/// write to, and generic things every estate has.
#[rustfmt::skip]
pub(crate) const NOT_NAME_WORDS: &[&str] = &[
    "业主", "居民", "市民", "住户", "群众", "百姓", "老百姓", "本人", "我们", "他们", "大家", "领导", "政府", "部门", "相关",
    "有关", "单位", "附近", "周边", "旁边", "对面", "门口", "楼下", "楼上", "一楼", "底层", "问题", "情况", "现在", "目前", "今年",
    "去年", "每天", "开发商", "物业公司", "管理", "工作", "孩子", "学生", "家长", "老师", "门面", "商铺", "我家", "你们", "所在",
    "位于", "本", "该", "这个", "那个", "所有", "整个", "全市", "全省", "市里", "区里", "县里", "城市", "农村", "地方", "国家",
    "省", "市", "区", "县", "新型", "国有", "民办", "公办", "私立", "公立", "当地", "本地", "外地", "全国", "各地", "各级",
    "整段", "一段", "这段", "路段", "整条", "一条", "这条", "那条", "附近居民",
];

/// Boilerplate of letters to the government and words too general to tell one problem from
/// another. Kept out of the problem terms.
#[rustfmt::skip]
pub(crate) const BOILERPLATE_WORDS: &[&str] = &[
    "尊敬", "领导", "您好", "你好", "市长", "书记", "局长", "主任", "政府", "部门", "相关", "有关", "谢谢", "感谢", "希望", "请求",
    "恳请", "恳求", "要求", "反映", "反应", "投诉", "举报", "问题", "情况", "解决", "处理", "帮助", "关注", "重视", "尽快", "及时",
    "能否", "是否", "可以", "没有", "已经", "现在", "目前", "一直", "多次", "至今", "到底", "什么", "为什么", "怎么", "如何",
    "这个", "那个", "一个", "一下", "关于", "进行", "严重", "影响", "市民", "百姓", "老百姓", "群众", "本人", "我们", "他们",
    "你们", "大家", "非常", "真的", "请问", "咨询", "建议", "如题", "回复", "答复", "工作人员", "工作", "时间", "时候", "得到",
    "出现", "存在", "造成", "导致", "发生", "需要", "应该", "不能", "不是", "还是", "但是", "而且", "并且", "因为", "所以", "如果",
    "虽然", "这样", "那么", "这些", "那些", "其他", "其中", "以上", "以下", "之前", "之后", "以后", "以前", "期间", "一些", "有些",
    "很多", "许多", "各位", "同志", "市委", "省委", "领导们", "百忙之中", "此致", "敬礼", "特此", "麻烦", "拜托", "急需", "迫切",
    "切实", "保障", "合法权益", "权益", "生活", "正常", "居民", "业主", "地方", "方面", "有人", "相关部门", "有关部门", "职能部门",
    "上级", "给予", "予以", "帮忙", "调查", "落实", "监管", "管理", "负责", "责任", "情况反映", "特别", "根本", "完全", "扰民",
    "查处", "依法", "依法查处", "依法处理", "整改", "整治", "督促", "协调", "解决问题",
];

/// Single characters of an admin-area name that follow a code or a name: A5区, 雨花区, 长沙县.
pub(crate) const AREA_LEVEL_CHARS: &[(&str, AreaLevel)] = &[
    ("省", AreaLevel::Province),
    ("市", AreaLevel::City),
    ("区", AreaLevel::District),
    ("县", AreaLevel::District),
];

/// Tokens that end like an admin area but are not one.
#[rustfmt::skip]
pub(crate) const NOT_AREA_WORDS: &[&str] = &[
    "小区", "社区", "园区", "景区", "城区", "市区", "片区", "校区", "厂区", "营区", "郊区", "山区", "街区", "辖区", "住宅区",
    "开发区", "新区", "城市", "都市", "超市", "门市", "股市", "夜市", "本市", "全市", "全县", "全区", "本区", "本县", "该市",
    "该区", "该县", "各区", "各县",
];

/// Level of an admin area named in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AreaLevel {
    Province,
    City,
    District,
}

/// Kinds of problem and the words citizens use for them. A term in a group also counts as the
/// group, so 外出打工 meets 强制实习 and 噪声 meets 噪音; words stay terms of their own too.
#[rustfmt::skip]
pub(crate) const PROBLEM_CONCEPTS: &[(&str, &[&str])] = &[
    ("噪音", &["噪音", "噪声", "吵闹", "音响", "喇叭", "广场舞", "鸣笛", "睡不着", "无法入睡", "嗓声"]),
    ("油烟", &["油烟", "油烟味", "排烟", "烟道", "油烟机", "净化器", "烟熏", "呛人"]),
    ("异味", &["臭味", "异味", "恶臭", "难闻", "臭气", "气味", "臭气熏天"]),
    ("粉尘", &["粉尘", "扬尘", "灰尘", "尘土", "漫天"]),
    ("排污", &["污水", "排污", "废水", "黑臭", "偷排", "直排", "排污口"]),
    ("垃圾", &["垃圾", "清运", "垃圾站", "垃圾桶", "脏乱差", "环境卫生", "保洁"]),
    ("摊点", &["夜宵", "夜宵摊", "摊贩", "占道经营", "小吃摊", "烧烤摊", "流动摊贩", "马路市场"]),
    ("停车", &["停车", "车位", "停车位", "停车场", "乱停", "违停", "乱停乱放", "停车费"]),
    ("交通", &["拥堵", "堵车", "红绿灯", "信号灯", "车流", "塞车"]),
    ("路面", &["坑洼", "路面", "井盖", "塌陷", "破损", "坑坑洼洼"]),
    ("照明", &["路灯", "照明", "不亮"]),
    ("积水", &["积水", "内涝", "排水", "下水道", "堵塞"]),
    ("供水", &["停水", "断水", "水压", "供水", "自来水", "水质"]),
    ("供电", &["停电", "断电", "电压", "供电", "跳闸"]),
    ("燃气", &["燃气", "天然气", "煤气", "管道气"]),
    ("供暖", &["供暖", "暖气", "集中供暖", "取暖"]),
    ("电梯", &["电梯", "困人", "加装电梯"]),
    ("物业", &["物业费", "物业", "业委会", "业主大会", "物业管理", "公共收益"]),
    ("房屋质量", &["漏水", "渗水", "开裂", "裂缝", "偷工减料", "墙体", "脱落", "质量问题"]),
    ("产权", &["房产证", "不动产", "产权证", "办证", "不动产权证"]),
    ("拆迁", &["拆迁", "征收", "补偿", "安置", "征地", "回迁", "安置房"]),
    ("违建", &["违建", "违章建筑", "私搭乱建", "搭建", "加层", "违法建设", "乱搭"]),
    ("欠薪", &["工资", "欠薪", "拖欠", "薪水", "血汗钱", "讨薪", "工钱"]),
    ("社保", &["社保", "养老保险", "参保", "补缴", "缴费年限", "断缴", "医保", "医疗保险"]),
    ("公积金", &["公积金", "住房公积金"]),
    ("补课", &["补课", "补习", "培训班", "课外班", "有偿补课"]),
    ("学生劳务", &["实习", "实训", "顶岗", "打工", "流水线", "务工", "劳动力", "外出务工"]),
    ("入学", &["入学", "学位", "招生", "划片", "学区", "择校"]),
    ("食堂", &["食堂", "饭菜", "伙食", "餐费"]),
    ("就医", &["挂号", "看病", "就医", "诊疗", "问诊", "检查费"]),
    ("公交", &["公交", "公交车", "公交线路", "班次", "站点", "公交站", "改线"]),
    ("地铁", &["地铁", "轻轨", "城轨", "地铁站", "站口"]),
    ("出租车", &["出租车", "网约车", "拒载", "的士"]),
    ("食品安全", &["食品安全", "过期", "变质", "无证经营", "卫生许可"]),
    ("宠物", &["宠物", "遛狗", "犬只", "狗叫", "养狗", "流浪狗"]),
    ("绿化", &["绿化", "树木", "砍伐", "绿地", "绿化带"]),
    ("人才补贴", &["人才", "购房补贴", "人才补贴", "生活补贴", "租房补贴"]),
    ("户籍", &["户口", "户籍", "落户", "迁户"]),
    ("诈骗", &["诈骗", "骗局", "传销", "非法集资", "理财"]),
    ("施工", &["工地", "施工", "打桩", "渣土车", "夜间施工", "搅拌站", "混凝土"]),
    ("充电", &["充电桩", "充电", "飞线"]),
    ("消防", &["消防", "消防通道", "安全隐患", "火灾", "灭火器"]),
];
