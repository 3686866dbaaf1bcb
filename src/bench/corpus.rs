//! A generator of realistic Chinese complaints for benchmarks: many districts, estates, roads,
//! companies and units, two dozen problem types with varied wording, repeated complaints about
//! the same place, and the greetings, histories and requests real messages carry. Seeded, so a
//! run is reproducible. (Our own wording; no real messages are copied.)

use chrono::{DateTime, Duration, FixedOffset, TimeZone};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::store::Complaint;

const DISTRICTS: &[&str] = &[
    "城东区",
    "城西区",
    "城南区",
    "城北区",
    "高新区",
    "经开区",
    "滨江区",
    "临湖县",
    "望山县",
    "新港区",
];
const ESTATE_HEADS: &[&str] = &[
    "阳光", "锦绣", "滨江", "幸福", "金色", "翠湖", "银河", "和平", "东方", "世纪", "丽景", "碧桂",
    "绿洲", "华庭", "书香", "凤凰", "梧桐", "海棠", "紫荆", "枫林", "湖畔", "明珠", "天鹅", "嘉园",
    "御景", "清水", "龙湾", "香樟", "桃源", "星河",
];
const ESTATE_TAILS: &[&str] = &[
    "花园", "小区", "苑", "家园", "新城", "名都", "华府", "公寓", "雅居", "山庄",
];
const ROAD_HEADS: &[&str] = &[
    "人民", "解放", "建设", "中山", "长江", "黄河", "新华", "文化", "胜利", "工农", "青年", "迎宾",
    "朝阳", "光明", "丰收", "兴业", "学府", "振兴", "东风", "五一",
];
const ROAD_TAILS: &[&str] = &["路", "大道", "街", "东路", "西路", "南路", "北路"];
const COMPANY_HEADS: &[&str] = &[
    "宏达", "鑫源", "天成", "恒通", "万佳", "华瑞", "盛世", "永安", "中盛", "博远", "金鼎", "汇丰",
];
const COMPANY_TAILS: &[&str] = &[
    "建筑公司",
    "物业公司",
    "置业有限公司",
    "科技公司",
    "房地产开发公司",
    "餐饮公司",
    "运输公司",
    "培训学校",
];
const UNITS: &[&str] = &[
    "市场监管局",
    "住建局",
    "城管局",
    "生态环境局",
    "教育局",
    "人社局",
    "卫健委",
    "交通运输局",
    "自然资源局",
    "街道办事处",
    "社区居委会",
    "派出所",
    "税务局",
    "不动产登记中心",
    "政务服务中心",
];
const GREETINGS: &[&str] = &[
    "尊敬的领导：您好！",
    "市长您好，",
    "尊敬的政府领导：",
    "",
    "",
    "各位领导好！",
];

/// Problem types: title templates and body sentences; `{p}` is a place, `{c}` a company,
/// `{u}` a unit, `{n}` a number.
const PROBLEMS: &[(&[&str], &[&str])] = &[
    (
        &["{p}夜间施工噪音扰民", "{p}工地深夜施工"],
        &[
            "旁边工地每天晚上十一点以后还在施工，噪音很大",
            "渣土车整夜进出，轰鸣声让人无法入睡",
            "夜间施工没有任何审批公示",
        ],
    ),
    (
        &["{p}垃圾清运不及时", "{p}环境卫生脏乱差"],
        &[
            "垃圾桶满了好几天都没人清运，气味难闻",
            "楼道堆满杂物和垃圾，夏天蚊蝇滋生",
            "绿化带成了垃圾场，无人打扫",
        ],
    ),
    (
        &["{p}物业乱收费", "投诉{c}物业服务差"],
        &[
            "物业公司擅自上调物业费，没有经过业主大会",
            "停车费每月收三百元却不提供任何管理",
            "电梯坏了半个月物业不修",
        ],
    ),
    (
        &["{p}电梯故障频发", "{p}电梯困人"],
        &[
            "电梯一个月内坏了五次，还发生过困人事件",
            "电梯年检过期仍在使用",
            "维修基金申请了半年批不下来",
        ],
    ),
    (
        &["{c}拖欠农民工工资", "讨要工资无果"],
        &[
            "{c}拖欠我们工资已经{n}个月，总共四万多元",
            "包工头跑路，公司推说不知情",
            "向劳动监察大队投诉后一直没有下文",
        ],
    ),
    (
        &["{p}停水停电无通知", "{p}频繁停水"],
        &[
            "小区一周停水三次，事先没有任何通知",
            "夏天高温频繁停电，老人孩子受不了",
            "供水压力不足，高层根本用不上水",
        ],
    ),
    (
        &["{p}供暖不达标", "{p}暖气不热"],
        &[
            "室内温度只有十二度，远低于标准",
            "交了取暖费暖气却是凉的",
            "供热公司电话一直打不通",
        ],
    ),
    (
        &["{p}违章搭建", "{p}顶楼违建无人管"],
        &[
            "一楼住户私自扩建院子占用公共绿地",
            "顶楼加盖阳光房，存在安全隐患",
            "向城管反映多次没有人来查处",
        ],
    ),
    (
        &["{p}占道经营", "{p}夜市扰民"],
        &[
            "商贩占用人行道摆摊，行人只能走机动车道",
            "夜市烧烤油烟直排，噪音持续到凌晨",
            "早餐店把桌椅摆到马路上",
        ],
    ),
    (
        &["{p}道路破损", "{p}路面坑洼"],
        &[
            "路面坑坑洼洼，下雨天积水严重",
            "井盖缺失好几天，夜间非常危险",
            "人行道砖松动，老人多次摔倒",
        ],
    ),
    (
        &["{p}路灯不亮", "{p}照明设施损坏"],
        &[
            "路灯坏了一个多月无人维修",
            "晚上整条路漆黑，女孩子不敢走",
            "多次拨打12345热线反映路灯问题",
        ],
    ),
    (
        &["行政审批拖延", "{u}审批超期不办"],
        &[
            "营业执照审批超过法定期限仍未办结",
            "材料齐全却以各种理由不予受理",
            "窗口工作人员让我们来回跑了六趟",
        ],
    ),
    (
        &["{u}工作人员态度恶劣", "投诉{u}不作为"],
        &[
            "办事人员玩手机不理群众，态度冷漠",
            "打电话没人接，去了又说负责人不在",
            "互相推诿，谁都不愿意管",
        ],
    ),
    (
        &["学校违规收费", "{p}附近学校乱收费"],
        &[
            "学校强制收取资料费和补课费",
            "要求学生必须在指定书店购买教辅",
            "借口兴趣班变相收费",
        ],
    ),
    (
        &["学位紧张入学难", "孩子上学难"],
        &[
            "片区内学位不够，孩子被分到很远的学校",
            "按政策应该就近入学却被拒收",
            "外来务工人员子女入学手续繁琐",
        ],
    ),
    (
        &["医院乱收费", "看病难看病贵"],
        &[
            "住院费用清单里有没做过的检查",
            "专家号被号贩子倒卖",
            "医生开大处方，药费明显过高",
        ],
    ),
    (
        &["{p}公交线路不合理", "公交车不按时发车"],
        &[
            "公交车半小时才来一班，上班经常迟到",
            "线路调整后小区附近没有站点",
            "司机开快车，急刹车乘客摔倒",
        ],
    ),
    (
        &["{p}停车难", "{p}乱停车"],
        &[
            "车辆乱停乱放，消防通道被堵",
            "路边停车收费不规范，没有票据",
            "小区车位只租不售，价格过高",
        ],
    ),
    (
        &["{p}污水直排", "{p}河道污染"],
        &[
            "附近工厂夜间偷排污水，河水发黑发臭",
            "生活污水直接排进小河沟",
            "养殖场粪便污染地下水",
        ],
    ),
    (
        &["{p}油烟扰民", "{p}餐馆油烟"],
        &[
            "楼下餐馆油烟直排，家里窗户都不敢开",
            "烧烤店没有安装油烟净化设备",
            "油烟管道紧贴居民窗户",
        ],
    ),
    (
        &["{p}扬尘污染", "{p}渣土车抛洒"],
        &[
            "工地没有围挡和洒水，扬尘很大",
            "渣土车沿路抛洒，路面全是泥土",
            "搅拌站粉尘污染严重",
        ],
    ),
    (
        &["话费被扣费", "银行卡莫名被扣费"],
        &[
            "手机套餐每月被扣费三十元，营业厅推诿",
            "银行卡被扣了年费却没有通知",
            "开通了从未申请的增值业务",
        ],
    ),
    (
        &["{c}延期交房", "房产证迟迟办不下来"],
        &[
            "{c}开发的楼盘延期交房已经{n}个月",
            "交房五年了房产证还办不下来",
            "开发商拒不支付延期违约金",
        ],
    ),
    (
        &["征地补偿不到位", "拆迁补偿不公"],
        &[
            "征地补偿款迟迟没有发放到村民手中",
            "同一片区拆迁补偿标准不一致",
            "村干部截留补偿款",
        ],
    ),
];
const HISTORY: &[&str] = &[
    "已经持续{n}个月了",
    "多次拨打12345热线反映没有结果",
    "向社区反映过很多次",
    "找过街道办也没人管",
    "问题从去年开始一直没有解决",
    "上个月已经投诉过一次",
    "相关部门来看过一次就没下文了",
];
const CONSEQUENCES: &[&str] = &[
    "严重影响居民正常生活",
    "老人孩子休息不好",
    "存在很大的安全隐患",
    "大家意见很大",
    "群众怨声载道",
];
const DETAILS: &[&str] = &[
    "我们这里有两千多户居民",
    "附近还有一所小学和一家养老院",
    "周边道路本来就很拥堵",
    "这个问题不是一天两天了",
    "很多业主都在业主群里反映过",
    "有关部门的答复是正在协调",
    "我们也理解政府工作的难处",
    "但是问题一直得不到解决",
    "上次来检查之后好了几天又恢复原样",
    "附近商户也有同样的意见",
    "我家里有八十多岁的老人",
    "孩子马上要参加中考",
    "社区说这不归他们管",
    "打电话给物业只说会上报",
    "已经拍了照片和视频作为证据",
    "邻居们准备联名上书",
];
const REQUESTS: &[&str] = &[
    "恳请有关部门尽快处理。",
    "希望政府重视这个问题。",
    "请领导督促落实。",
    "望尽快给我们一个答复。",
    "谢谢！",
];

/// A seeded generator.
pub struct CorpusGenerator {
    rng: StdRng,
    start: DateTime<FixedOffset>,
}

impl CorpusGenerator {
    pub fn new(seed: u64) -> CorpusGenerator {
        let tz = FixedOffset::east_opt(8 * 3600).expect("valid offset");
        CorpusGenerator {
            rng: StdRng::seed_from_u64(seed),
            start: tz
                .with_ymd_and_hms(2022, 1, 1, 0, 0, 0)
                .single()
                .expect("valid date"),
        }
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.random_range(0..list.len())]
    }

    fn place(&mut self) -> String {
        if self.rng.random_bool(0.6) {
            format!(
                "{}{}{}",
                self.pick(DISTRICTS),
                self.pick(ESTATE_HEADS),
                self.pick(ESTATE_TAILS)
            )
        } else {
            format!("{}{}", self.pick(ROAD_HEADS), self.pick(ROAD_TAILS))
        }
    }

    fn fill(&mut self, template: &str, place: &str, company: &str, unit: &str) -> String {
        let n = self.rng.random_range(2..13).to_string();
        template
            .replace("{p}", place)
            .replace("{c}", company)
            .replace("{u}", unit)
            .replace("{n}", &n)
    }

    /// The next complaint: (title, body, submitted_at).
    pub fn complaint(&mut self) -> (String, String, DateTime<FixedOffset>) {
        let (titles, sentences) = PROBLEMS[self.rng.random_range(0..PROBLEMS.len())];
        let place = self.place();
        let company = format!("{}{}", self.pick(COMPANY_HEADS), self.pick(COMPANY_TAILS));
        let unit = self.pick(UNITS).to_string();
        let title_template = self.pick(titles);
        let title = self.fill(title_template, &place, &company, &unit);
        let mut body = String::new();
        body.push_str(self.pick(GREETINGS));
        body.push_str(&format!("我是{place}的居民，"));
        let count = self.rng.random_range(2..=sentences.len() + 1);
        for _ in 0..count {
            let sentence = self.pick(sentences);
            body.push_str(&self.fill(sentence, &place, &company, &unit));
            body.push('，');
        }
        for _ in 0..self.rng.random_range(2..6) {
            body.push_str(self.pick(DETAILS));
            body.push('，');
        }
        let history = self.pick(HISTORY);
        body.push_str(&self.fill(history, &place, &company, &unit));
        body.push('，');
        body.push_str(self.pick(CONSEQUENCES));
        body.push('。');
        if self.rng.random_bool(0.3) {
            body.push_str(&format!(
                "工单号{}。",
                self.rng.random_range(100_000..999_999)
            ));
        }
        body.push_str(self.pick(REQUESTS));
        let minutes = self.rng.random_range(0..(3 * 365 * 24 * 60));
        (title, body, self.start + Duration::minutes(minutes))
    }

    /// The next complaint, as the indexer reads it, with sequence number `seq`.
    pub fn index_row(&mut self, seq: i64) -> Complaint {
        let (title, body, submitted_at) = self.complaint();
        let channels = ["hotline", "online", "petition", "media"];
        let channel = channels[self.rng.random_range(0..channels.len())];
        let item = connectors::Item {
            external_id: seq.to_string(),
            title: Some(title.clone()),
            body: body.clone(),
            submitted_at: Some(submitted_at),
            complainant: None,
            location: None,
            target_unit: None,
            url: None,
            attachments: Vec::new(),
            meta: Default::default(),
        };
        Complaint {
            id: format!("bench-{seq:08}"),
            seq,
            source: format!("{channel}-src"),
            channel: channel.to_string(),
            external_id: seq.to_string(),
            revision: 1,
            received_at: crate::store::format_utc(submitted_at.with_timezone(&chrono::Utc)),
            submitted_at,
            effective_at: submitted_at.with_timezone(&chrono::Utc),
            future_dated: false,
            historical: false,
            title: Some(title),
            body,
            text_norm: String::new(),
            item,
            content_hash: String::new(),
            raw: Vec::new(),
            raw_content_type: "application/json".into(),
            facets: Default::default(),
            case_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generation_is_reproducible_and_varied() {
        let mut a = CorpusGenerator::new(7);
        let mut b = CorpusGenerator::new(7);
        let first: Vec<_> = (0..50).map(|_| a.complaint()).collect();
        let second: Vec<_> = (0..50).map(|_| b.complaint()).collect();
        assert_eq!(first, second);
        let distinct: std::collections::HashSet<&String> =
            first.iter().map(|(t, _, _)| t).collect();
        assert!(distinct.len() > 30, "titles vary: {}", distinct.len());
        assert!(first.iter().all(|(_, body, _)| body.chars().count() > 40));
        assert!(
            !first.iter().any(|(_, body, _)| body.contains('{')),
            "every slot filled"
        );
    }
}
