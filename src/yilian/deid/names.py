"""Name data for finding people in Chinese and pinyin text: surnames, pinyin syllables, words that are not names."""

from __future__ import annotations

# The commonest single-character surnames (about nine in ten people in China carry one of them) and the
# compound surnames still in use. Many are also ordinary characters (高, 白, 周, 常, 方), so a surname alone
# never marks a name: patterns.py asks for a context (a label, a title, sex and age after it). Surnames that are
# above all function words in clinical text (于, 和, 时, 查, 向, 明…) are left out; names known from the case
# are matched whatever their surname.
SINGLE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪"
    "范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤常温康施文牛樊葛邢安齐易乔伍庞"
    "颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕季裴霍涂苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻"
    "祁蒲房滕屈饶牟艾尤阳穆农司卓吉缪简项芦麦褚娄窦戚岑党费卜冷晏席卫柏宗瞿桂佟臧闵苟邬边卞姬仇"
    "栾隋刁沙荣巫寇桑郎甄丛仲虞敖巩佘苑迟邝"
)
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 端木 百里 呼延 南宫 独孤 西门".split()
)

# Pinyin surnames (as written in Latin script), for "Zhang San" / "ZHANG^SAN".
PINYIN_SURNAMES = frozenset(
    """
    wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang xie song tang
    han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai jia ding wei xue ye yan lu du dai xia zhong
    tan ren jin fan fang shi yao liao zou xiong qiu qin meng hou bai duan lei kong long shao qian cui wan gu mao
    hao kang chang tao wen niu fu su lv shen lai mo qi ni ou ouyang sima shangguan zhuge situ murong
    """.split()
)

# Every Mandarin syllable without tones (v for ü), for the given name after a pinyin surname.
PINYIN_SYLLABLES = frozenset(
    """
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen
    ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci
    cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dian diao die ding diu dong dou du duan
    dui dun duo e ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou
    gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui
    hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong
    kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling
    liu long lou lu lv luan lue lun luo ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo
    mou mu na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nv nuan nue nuo
    o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin
    qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru ruan rui run ruo sa sai san sang sao
    se sen seng sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun
    shuo si song sou su suan sui sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui
    tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya
    yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan
    zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu
    zuan zui zun zuo
    """.split()
)

# Two-character words that end in a surname-like character before a title (主管医生, 值班医师): not a person.
NOT_NAMES = frozenset(
    """
    主管 管床 值班 主治 经治 会诊 责任 接诊 上级 带教 实习 进修 规培 住院 门诊 急诊 主任 副主任 科室 家属 本院 外院
    申请 报告 审核 送检 签发 书写 复核 记录 检查 影像 放射 超声 临床 主诊 首诊 转诊
    """.split()
)
