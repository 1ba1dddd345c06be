"""The offline planner's phrase tables (English and Chinese), compiled once.

Each table maps the words people use to the plan vocabulary: triggers, AI tasks, delivery
operations, waits, loops, comparisons. Patterns run on :func:`pilot.generation.text.normalize`d
text (lower case, NFKC, so Chinese full-width commas are ASCII commas). ``\\b`` means an ASCII
word boundary (see :func:`pilot.generation.entities.ascii_re`), so CJK neighbours never block a match.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pilot.generation.prefilter import compile_filtered
from pilot.generation.text import ascii_re
from pilot.generation.roles import NOUN_POST

# ---------------------------------------------------------------- clause boundaries

# sentence ends, and sequencing words (then / after that / 然后 / 再 / 最后)
# (not the "." of a list number: "\n1. 给用户发短信确认")
SENTENCE = compile_filtered(r"(?:(?<!\n\d)(?<!\n\d\d)(?<!^\d)(?<!^\d\d)[.!?](?=\s|$)|[;。！？；\n])+")
SEQUENCE = ascii_re(r"(?:,\s*|\s+)(?:and\s+)?(?:then|after that|next(?!\s+(?:week|month|year|day|quarter|monday|tuesday|wednesday|thursday|friday|saturday|sunday|time|steps?|ones?)\b))\b[,\s]*|(?:,\s*|\s+)(?:and\s+)?(?=(?:finally|afterwards|at the end)\b)"
                    # (not "如果金额大于5000并且客户等级是VIP，就…": two conditions of one case)
                    r"|然后|接着|之后再|之后|随后|(?=最后)|再把|再将|并且(?![^,，。；;]{1,16}?(?:大于|小于|高于|低于|超过|不低于|不少于|不超过|少于|多于|是|为|等于)"
                    r"[^,，。；;]{0,12}?[,，]?\s*(?:就|则|的话))|并把|并将")
# English actions: a new clause starts at ", verb" / "and verb"
ACTION_VERBS = (
    r"fetch|pull|get|grab|read|scrape|collect|gather|download|monitor|watch|check|look up|query|search|find|load|"
    r"summari[sz]e|translate|classify|categori[sz]e|score|rate|grade|evaluate|extract|parse|analy[sz]e|write|draft|"
    r"generate|create|compose|answer|reply|respond|send|post|notify|"
    r"(?:e-?mails?|messages?)(?=\s+(?:it|them|me|us|him|her|the|a|an|our|my|their|this|that|all|each|every|[\w.+-]+@)\b)|alert|save|store|append|add|"
    r"log|record|insert|upsert|update|sync|push|forward|route|wait|combine|merge|tag|label|assign|reassign|publish|share|"
    r"upload|text(?=\s+(?:it|them|me|us|the|a|an|our|my|their)\b)|call|ping|escalate|open|file|enrich|filter|dedupe|deduplicate|convert|format|draft|review|"
    r"have|let|ask|use|make|remove|drop|delete|import|export|clean|skip|dm|remind|invite|look|rewrite|rephrase|proofread|polish|shorten|"
    r"page(?=\s+(?:ops|on-?call|someone|me|us|the|them)\b)|put(?=\s+(?:it|them|the|this|that|a|an|each|every)\b)|patch(?=\s)"
    r"|turn(?=\s+(?:only|just)\b)|archive|flag|mark(?=\s+(?:it|them|the|this|that|as)\b)|move(?=\s+(?:it|them|the|this|that)\b)|set(?=\s+(?:the|its|their|this|that)\s+[\w' ]{1,30}?\s+to\b|\s+status\b)"  # "classify each post …, and turn only the bugs into issues"
    r"|total(?=\s+(?:them|it|these|those)\s+by\b)"
    r"|tell(?=\s+(?:me|us|him|her|them|the [\w-]+(?: [\w-]+)?)\s+(?:in|on|via|through|by|over)\s+(?!plain\b|simple\b|detail\b|short\b|brief\b|a few\b|one\b|two\b|three\b|english\b|chinese\b|bullets?\b|words?\b|numbers?\b))"  # "extract the price, and tell me in Telegram if …"  # "pull last month's donations and total them by campaign"
)
# not before a verb used as a noun: "name, email and call time", "email address", "post title"
EN_SPLIT = ascii_re(r",\s*(?:and\s+)?(?=(?:those|ones|the ones|anyone|anything|everyone|[a-z]+)\s+(?:scoring|scored|rated|over|above|under|below|between)\s+[$€£¥]?\d"  # "…, those below 50 get …"
                    r"|(?:everyone|everybody|anyone|anybody|anything|everything) else\b|all (?:the )?others\b|the rest\b)|"  # "…, and the rest wait for …"
                    r"(?:,\s*(?:and\s+)?|\s+and\s+(?:also\s+)?)"
                    # "add their name and score to the sheet": a noun that is also a verb, listed with what is written
                    r"(?!(?:score|rating|grade|rank|total|count|tag|label)\s+(?:to|into|in|on)\s+(?:the|a|an|our|my|their|that|this)\b)"
                    r"(?=(?:" + ACTION_VERBS + r"|for each|for every|only (?:when|if))\b"
                    r"(?!\s+(?:time|times|date|notes?|recording|address(?:es)?|title|id|count|status|length|type)\b))")
ZH_SPLIT = compile_filtered(r"[,、]\s*(?![其剩][他它余下]\s*[\u4e00-\u9fff]{0,2}[类种])(?=[a-z0-9][a-z0-9 ]{0,10}(?:的话)?就(?:自动|直接|马上|立刻)?(?:在|发|推|转|建|创建|记|写|存|通知|提醒|同步|加)|(?:审批|审核)?(?:同意|通过|批准)(?:了)?(?:之后|以后|后|就|再)|(?:被)?(?:驳回|拒绝)(?:了)?(?:的话|后|就)|等(?:我|老板|主管|领导|经理|负责人|编辑|主编)|其余|其他|其它|剩下|每\s*\d|等\s*[\d一二三四五六七八九十两半]+\s*个?(?:天|小时|分钟|周|星期)|[\d一二三四五六七八九十两半]+\s*个?(?:天|小时|分钟|周|星期|个月)(?:之?后|以后)(?=再|给|发|提醒|通知|检查|查|看|去)|[^,、]{0,10}(?:大于|小于|高于|低于|超过|不低于|不少于|不超过|少于|多于|不到|不足|以上|以下|以内)[^,、]{0,8}的|[^,、]{0,12}(?:大于|小于|高于|低于|超过|不低于|不少于|不超过|少于|多于|不到|不足)\s*[\d一二三四五六七八九十两百千万.]+\s*(?:万|千|元|块|天|个|条|%|分)?(?:的话)?(?:就|则)|[\u4e00-\u9fffa-z0-9]{1,6}的(?:立刻|马上|立即|直接|就|都|也|要)?(?:发|推|存|写|记|转|给|在|就|加|同步|用|把|分配|指派|派给|分给)|(?:并且?|还要|再)(?:在|往|给|用|通过)|(?:到时候|届时|这时)\s*(?:如果|若|假如|要是|一旦)|[^,、]{1,16}(?:不等于|等于|不是|不为)[^,、]{1,10}的话|还(?:没|不|未)[\u4e00-\u9fff]{1,6}的话|[^,、]{0,6}(?:>=|<=|≥|≤|>|<)\s*\d|(?:审批)?(?:被驳回|驳回|被拒绝?|拒绝|不通过|没通过|未通过|通过|批准|同意)(?:了|的话|之后|以后)?(?:就|则|后)|[^,、]{0,2}(?:每一|逐条|逐个|用|让|把|将|根据|调用|通过|发|推送|通知|保存|存|写|记录|生成|总结|翻译|分类|提取|抓取|获取|"
                      r"读取|查询|搜索|分析|回复|回答|创建|更新|同步|等待|汇总|整理|打分|评分|判断|检查|筛选|并行|同时))")

# ---------------------------------------------------------------- triggers

WEBHOOK = ascii_re(r"\bwebhooks?\b|(?:做|提供|开|给我)(?:一)?个(?:http\s*)?接口|\bpost过来|\b(?:http|https|rest|api) endpoint (?:that|which|to) (?:receives?|accepts?|takes?|gets?)\b|\bendpoint (?:that|which) (?:receives?|accepts?)\b|\bcalls? (?:our|an?) (?:api|endpoint)\b|调用我们的(?:api|接口)|(?:post|推送)到我们的接口|\bhttp (?:request|call|post)\b|\bpost request\b|回调|http\s*请求"
                  # "our backend POSTs a new order to this workflow", "the HR system POSTs each claim to us", "把线索POST到这里",
                  # "ERP系统推送新的销售订单过来": an outside system calls the workflow
                  r"|\bposts?\b[^.;]{0,60}?\bto (?:us|this (?:workflow|flow|automation|endpoint|url)|here)\b|(?:post|推送|推|提交)(?:到|给)(?:这里|这儿|这个(?:流程|工作流|接口))"
                  r"|(?:系统|平台|后台|后端|服务)(?:会|都会|就会)?(?:推送|推|post|回调)[^,，。;；]{1,20}?过来"
                  # "用户在官网提交问题后", "患者在小程序上预约挂号后": our own site or app posts what they submit
                  r"|(?:^|[:：]\s*)(?:客户|用户|患者|学员|学生|访客|会员|家长)在(?:我们的?)?(?:官网|网站|小程序|app|h5)(?:上|里)?(?:提交|预约|挂号|注册|下单|报名|填|留资|申请)(?![^,，。]{0,14}?(?:表单|表|问卷))(?![^。]*(?:webhook|回调|接口))")
WEBHOOK_OUT = ascii_re(r"\b(?:send|post|push|forward|notify|call|hit)\w*\s+(?:it |them |the \w+ |this |that |an? \w+ )?(?:to|via|using) (?:a |an |our |the |my |this )?"
                       r"(?:\w+ )?webhook|(?:发|推送|发送|通知|调用)(?:到|给)?.{0,6}(?:webhook|回调)|webhook\s*(?:url|地址)")
WEBHOOK_IN = ascii_re(r"\b(?:when|whenever|each time|every time|once)\b[^.]{0,60}\bwebhook|\bwebhook[^.]{0,20}\b(?:arrives|fires|is called|comes in|receives|gives us|triggers)"
                      r"|\b(?:sends|posts|calls|hits|pushes|fires|forwards)\s+(?:us\s+)?(?:\w+\s+){0,8}?(?:to\s+)?(?:a |an |our |the )?webhooks?\b|\breceiv\w*\s+[^.]{0,30}webhooks?|\b(?:gets?|is|are)\s+(?:pushed|posted|sent|forwarded|delivered)\s+(?:to|into)\s+(?:a |an |our |the )?webhooks?\b"
                      r"|收到.{0,10}webhook|通过\s*webhook|(?:系统|平台|那边|后台|服务)(?:会|都会|就会)?(?:推送|推|发|调用|调)(?:一个|一条)?\s*webhook|(?:推送|推|发|post|回调)(?:到|给)(?:我们|我方|咱们)的?\s*(?:webhook|接口|回调地址|服务器)|数据推送|推送[^,，。]{0,8}到我们这边|webhook\s*(?:推|发|回调|触发)|(?:触发|回调|会调|调用)\s*(?:一个|我们的)?\s*webhook"
                      # "流水线失败会发webhook过来", "消息推送（webhook）里有退款事件", "OA系统会把采购申请推送到webhook"
                      r"|webhook\s*过来|webhook\s*[)）]?\s*(?:里|中)(?:有|会有|会收到|收到)|(?:系统|平台|后台|后端|服务)(?:会|都会|就会)?把[^,，。]{1,12}?(?:推送|推|发|post)(?:到|给)\s*(?:我们的|这个)?\s*webhook")
FORM = ascii_re(r"^[\w' -]{0,40}\bform\b[\w' -]{0,40}(?::|->|→)|^(?:an? |the |our )?[\w' -]{0,40}\bform\s*[.!](?:\s|$)|^(?:an? |the |our )?[\w' -]{0,30}\bform (?:has|with|collects|asks for)\b|\b(?:registers?|signs? up|applies|enrols?|enrolls?)\b.{0,40}\bform\b|\bour [\w -]{0,30}\bform\b|\ba (?:simple |small |short |quick |web )?form (?:where|that|for|with)\b|\b(?:submits?|submitted|fills? (?:in|out))\b.{0,40}\bform\b|\bform (?:is )?submi|\bform submission|\bnew form (?:response|entry)|\b(?:a|an|our|the) (?:[\w-]+ ){0,3}form (?:where|that|on|for)\b|\bcontact form\b|^(?:[\w'-]+ ){0,3}form (?:for|on|where|that)\b|\b(?:send|sends|submit|submits|ask|asks)\b[^.]{0,40}\b(?:through|via|using) (?:the|our|a|my) [\w' -]{0,30}?\bform\b"
                # "Build a job application form (…). When someone submits it", "Feedback form — when submitted"
                r"|\b(?:build|create|make|set up|give me)\s+(?:me\s+|us\s+)?(?:a|an)\s+(?:[\w-]+\s+){0,3}form\b(?=[^.]{0,120}[.)]\s*(?:when|once|after|whenever)\b)"
                r"|\bform\s*[—–]+\s*(?:when|once|after|whenever|on)\b"
                r"|(?:做|建|搞|弄|创建|生成)(?:一)?个.{0,8}?(?:表单|报名表|申请表|登记表|反馈表|预约表|问卷)(?=.{0,40}?(?:提交(?:后|之后|以后|时)|有人(?:提交|填)))"  # "做个活动报名表，收集…，提交后…"
                r"|提交(?:了)?.{0,8}表单|有人填了.{0,8}?(?:报名表|申请表|登记表|问卷|表单|表)|表单(?:里|上|中)?填(?:完|好|写完)[^,，。]{0,6}?(?:后|以后|之后)|(?:学生|学员|员工|用户|客户|候选人|家长)提交(?:作业|作文|申请|报名|资料|材料|简历)(?:[（(][^)）]{0,10}[)）])?(?:后|以后|之后|时)|表单.{0,4}提交|填了.{0,8}表单(?:以后|之后|后)|用表单(?:交|提交|填)|填写(?:完)?.{0,6}表单|表单填写|填完.{0,6}表|报名表.{0,3}提交|通过表单|通过[\u4e00-\u9fff]{1,6}表单(?:投|提交|填|报名|申请|预约|登记|交)|表单(?:投递|预约)|.{0,6}表提交后|表单.{0,12}提交后|(?:反馈|报名|申请|登记|预约)表.{0,10}(?:填完|填好|提交)|提交.{0,14}?(?:报名表|申请表|登记表|预约表|问卷|反馈表|表单)(?:后|以后|之后|时|的时候)|(?:咨询|反馈|报名|申请|售后|预约|登记|调查|试听)表单|表单里(?:填|选|勾选)的|(?:在|用|通过)表单(?:里|中|上)?(?:填|提交|输入|下单|预约|报名|登记|申请)|表单(?:里|中|上)(?:输入|填写?|提交)")
CHAT = ascii_re(r"\bchat ?bot\b|^(?:an? |our )?(?:internal |company |team )?(?:[\w-]+ )?(?:assistant|help ?desk|support|faq|q&a) chat\b|\bagent for (?:our |the |my )?[\w ]{0,25}\bchat\b|聊天助手|聊天机器人|对话助手|对话机器人|问答机器人|客服机器人|\ba chat (?:where|that|in which)\b|\bchat (?:for|where)\b|\bchat (?:assistant|agent|interface|window)\b|\blet (?:me|us|users) chat\b|\bchat with\b|\b(?:in|via|through) (?:the |a |our )?chat\b|\bchat message|\buser (?:asks|messages|sends a message|types)|"
                r"\bwhen (?:someone|a user|a customer|users|customers) (?:asks?|messages?|chats?)\b|\banswers? (?:user|customer) questions? in chat"
                r"|\bchat widget\b|\bthe bot (?:answers|replies|responds)\b|\b(?:a|an|our) (?:\w+ )?bot (?:that|which) (?:answers|replies)\b"
                r"|聊天机器人|客服机器人|对话机器人|问答机器人|(?:客服|问答|咨询|答疑)(?:智能体|助理|小助手)|聊天窗口|聊天框|对话框|陪练|在聊天里|聊天里|在对话里|对话中|客服机器人|在对话中|用户在.{0,6}(?:提问|咨询|发消息)|用户(?:提问|发来消息)时"
                r"|做一个.{0,12}机器人|(?:咨询|答疑|问答|售前|售后|客服)机器人|[@＠]机器人|我问它|(?:可以|能)(?:直接)?(?:问|提问|咨询)它|(?:用|以)聊天的(?:方式|形式)|(?:跟|和|与)它聊天|直接(?:跟|和)它聊|问答小助手|(?:小)?助手[，,]?\s*(?:员工|同事|用户|大家|学生)(?:可以)?直接(?:跟|和|问)|(?:数据|内部|智能|问答|知识库)助手(?!群)|用户在聊天中|在聊天中|(?:网站|官网|网页|app|小程序)?(?:上的)?(?:智能|在线|ai)客服(?!群|组|主管|经理)|用户发(?:来)?消息(?:后|时)")
# "when a new X is added / arrives" — an event in some app
APP_EVENT = ascii_re(
    r"^incoming (?:e-?mails?|messages?|tickets?|orders?|leads?|calls?|dms?)\b|"
    # "Translate incoming Zendesk tickets …": what arrives is the event the work is done on
    r"^(?:translate|summari[sz]e|classify|triage|route|tag|label|answer|reply to|forward|process|handle|sort|screen)\s+(?:all\s+|every\s+|each\s+)?incoming\s+(?:[a-z]+\s+)?(?:e-?mails?|messages?|tickets?|orders?|leads?|dms?|reviews?|comments?|applications?)\b|"
    # "Emails arriving at our support@ Gmail:", "on a Stripe payment failed event:", "After each Zoom recording is ready"
    r"^(?:new )?(?:e-?mails?|messages?|tickets?|orders?|leads?|comments?|reviews?|dms?)\s+(?:arriving|coming in|landing|that (?:arrive|come in|land))\b|"
    r"\bon (?:a|an|each|every|the) [\w ]{1,40}? event\b|"
    r"\b(?:after|when|whenever|once) (?:each|every|a|an|the) [\w ]{1,40}? (?:is|are|gets?) (?:ready|done|finished|available|completed|uploaded|processed)\b|"
    r"\b(?:reads?|handles?|processes?|checks?|triages?) (?:each|every) (?:new|incoming) (?:e-?mail|message|ticket|order|comment|review|lead|submission)\b|"
    # "messages to our restaurant whatsapp: sort into …": what arrives in an app leads the request
    r"^(?:new |incoming )?(?:messages?|dms?|texts?|e-?mails?|comments?|reviews?)\s+(?:to|in|on|at)\s+(?:our|my|the)\s+[\w' -]{0,30}?(?=\s*[:,→]|\s*->)|^new [^→:>?=]{1,50}?\s*(?:→|->|=>|:|\?)|^[a-z]+ (?:every |each |all (?:the )?)?new [a-z]+\b|\b(?:for|on) (?:every|each) new [a-z]+\b|\bwhen(?:ever)?\s+\w+\s+(?:reports|sends|creates|posts|logs|detects|raises|fires|publish|publishes|upload|uploads|launch|launches|ship|ships|release|releases|push|pushes|merge|merges|deploy|deploys|open|opens|receive|receives|get|gets)\s+(?:a |an )?(?:new\s+)?\w+|\bwhen(?:ever)?\s+(?:a |an |the )?[\w ]{1,30}?\s+(?:moves|changes|reaches|becomes|is marked|is moved)\b|"
    r"\b(?:when(?:ever)?|each time|every time|once|as soon as|on(?: every| each)?)\s+(?:a |an |the |we |i |someone |somebody |our |my |a customer )?"
    r"(?:new\s+|receive (?:a |an )?(?:new )?|get (?:a |an )?(?:new )?|(?:publish|post|upload|release|launch|ship)(?:es)? (?:a |an )?new\s+)"
    # "When I star an email in Gmail": what I do in an app
    r"|\b(?:when(?:ever)?|each time|every time|as soon as)\s+(?:i|we)\s+(?:star|flag|label|archive|bookmark|pin)\s+(?:a|an|any|the)\s+[\w-]+(?:\s+[\w-]+)?\s+(?:in|on)\s+[\w.]+"
    r"|\b(?:when(?:ever)?|each time|every time|as soon as)\s+(?:a |an |the )?[\w ]{1,30}?\s+(?:is|are|gets?|was)\s+"
    r"(?:added|created|opened|submitted|updated|placed|closed|merged|received|paid|uploaded|signed up|registered|booked|cancell?ed|starred|"
    r"published|released|deployed|shipped|delivered)\b"
    r"|\b(?:when(?:ever)?|each time|every time|as soon as)\s+(?:a |an |the |someone |somebody )?[\w #'$€£¥-]{0,60}?"
    r"(?:signs up|signs (?:the|their|a|an|our) [\w-]+|registers|books|fills (?:out|in)|submits|applies|enrol?ls|joins|purchases|buys|checks out|donates|places an order|pays|comments|stars|e-?mails (?:us|support|sales|our|the|in)|opens an issue|subscribes|unsubscribes|arrives|comes in|comes into|lands in|posts|replies|mentions|lands|hits|fires|goes off|is triggered|is raised|fails|bounces|expires|churns|cancels|uploads|drops|adds|shares|succeeds|ends|finishes|completes|wraps up|starts)\b"
    # "Typeform job application submitted -> …", "Shopify order over $500 -> …": the event leads, an arrow after it
    r"|^(?:an?\s+)?[a-z][\w.]*\s+(?:[\w-]+\s+){0,3}?(?:submitted|received|created|paid|placed|opened|merged|comes in|arrives|signed up)\s*(?:->|→|=>)"
    r"|^(?:an?\s+)?[a-z][\w.]*\s+(?:order|payment|submission|response|ticket|lead|deal|signup|invoice|charge)s?\s+(?:over|above|under|below|of more than|of less than)\s+[$€£¥]?\d[\d,.]*k?\s*(?:->|→|=>)"
    # "After every Zoom meeting ends": each time that happens in the app
    r"|\bafter (?:each|every|a|an) [\w ]{1,30}? (?:ends|finishes|is over|wraps up|completes|succeeds|fails)\b"
    # "someone books a demo via Calendly -> …": the event leads the request, no "when" before it
    r"|^(?:someone|somebody|a (?:customer|user|lead|client|prospect|visitor|candidate))\s+(?:books|signs up|registers|pays|buys|orders|cancels|subscribes|uploads)\b[^.]{0,60}?(?:->|→|:|,)"
    # "钉钉上有人提交请假申请", "客户在微信公众号发消息": someone does it in the app
    r"|^[\u4e00-\u9fffa-z]{2,10}(?:上|里)有人(?:提交|发起|填了|填写|发了|发消息|下单|报名|申请|评论|留言)"
    r"|(?:公众号|服务号|订阅号)(?:后台)?(?:收到|有)(?:了)?(?:新的?)?(?:用户|粉丝)?(?:的)?(?:留言|消息|评论|私信)"  # "公众号后台收到用户留言"
    r"|^(?:客户|用户|粉丝|买家|顾客|学员|学生|员工|患者|访客|候选人|会员|家长)在(?!聊天|对话|网页|网站|官网|小程序|app)[\u4e00-\u9fffa-z]{2,10}?(?:上|里)?"
    r"(?:发消息|发了消息|发来消息|留言|评论|下单|提交|咨询|私信|交|填|报名|预约|申请|发起)"
    r"|^[\u4e00-\u9fffa-z]{1,8}新(?:订单|客户|用户|评论|工单|记录|邮件|issue|线索|答卷|报名)|^新(?:订单|客户|用户|评论|工单|记录|邮件|线索|答卷|报名)(?:来了|进来|到了)|每(?:新增|新建|新来|有)|每当|发(?:布)?(?:了)?新.{0,12}?(?:的时候|时|后)|每次(?:有|收到)|每(?:收到|来)|一旦(?:有|收到)|(?<![唯统同])一有(?=[^，,。：:]{0,16}?新)|来了?(?:一[个笔单条封])?新|发布(?:了)?新|[\u4e00-\u9fffa-z]{2,10}(?<!点)(?<!我审核)(?<!我审批)(?<!我批准)(?<!等我)(?:(?:通过|完成|创建|关闭|合并)(?:时|后)|(?:通过|完成|创建|关闭)(?:以后|之后))|(?:收到|有|新增|新建|新来|新添加)(?:了)?(?:一[封条个份笔行张])?新?.{0,14}?(?:时(?![间效])|(?<!然)(?<!最)后(?![台端面续])|的时候)|出现(?:了)?新的?.{0,14}?(?:时(?![间效])|(?<!然)(?<!最)后(?![台端面续])|的时候)"
    # "客户在企业微信发消息时", "粉丝在公众号留言后": someone acting in an app
    # (asking in a chat window is the chat trigger, not an app's event)
    r"|(?:客户|用户|有人|顾客|粉丝|员工|同事|买家|学员|学生|家长|患者|候选人)(?:在(?!对话|聊天|会话|窗口|网页|页面)[^，,。；;]{1,12}?"
    r"(?:发(?:来|了)?(?:消息|私信|邮件|评论|问题)|留言|评论|提问|咨询|提交(?:了)?[^，,。；;]{0,8}?(?:申请|审批|请假|报销|工单|单|作业|问卷|答卷|表单|简历|报名表))|(?:在[^，,。；;]{1,12}?)?(?:下单|付款|注册|报名|预约(?:挂号|成功|了)?|挂号))"
    r"(?:时(?![间效])|(?<!然)(?<!最)后(?![台端面续])|的时候)"
    r"|^[\u4e00-\u9fffa-z]{1,8}一(?:结束|开播|下播|上线|发布|下单|付款|提交|签收)"
    # "新的GitHub PR提交后", "把公众号新发布的文章自动改写…": something new in an app is the event
    r"|^新的?[\u4e00-\u9fffa-z ]{1,16}?(?:提交|创建|发布|上传|合并|开出)(?:了)?(?:后|时(?![间效])|之后|以后|的时候)"
    r"|[\u4e00-\u9fffa-z]{1,8}?新发布的(?:文章|视频|笔记|帖子|内容|推文)(?=[^,，。]{0,4}自动)"
    # "海外客户邮件进来后", "GitLab 流水线失败的时候": what happens in an app, without a person acting
    r"|^[\u4e00-\u9fffa-z ]{0,10}?(?:邮件|工单|订单)(?:进来|来了|到了)(?:时(?![间效])|后|的时候|以后)"
    r"|^[\u4e00-\u9fffa-z ]{0,12}?(?:流水线|pipeline|构建|部署|ci|cd|job)(?:跑)?(?:失败|挂了|报错|出错)(?:时(?![间效])|后|的时候|以后)")
EVENT_HINTS = (("i star ", "email starred"), ("we star ", "email starred"), ("留言", "new message"), ("私信", "new message"), ("payment fails", "payment failed"), ("payment failed", "payment failed"), ("failed payment", "payment failed"),
               ("charge fails", "payment failed"), ("charge failed", "payment failed"), ("付款失败", "payment failed"), ("支付失败", "payment failed"),
               ("流水线", "pipeline failed"), ("pipeline", "pipeline failed"), ("stars", "new star"), ("contract", "contract signed"), ("email", "new email"), ("邮件", "new email"), ("row", "new row"), ("一行", "new row"), ("行", "new row"),
               ("order", "new order"), ("applies", "new application"), ("application", "new application"), ("订单", "new order"), ("下单", "new order"), ("付款", "new payment"), ("issue", "new issue"), ("pull request", "new pull request"),
               ("pr", "new pull request"), ("lead", "new lead"), ("contact", "new contact"), ("payment", "new payment"),
               ("付款", "new payment"), ("file", "new file"), ("文件", "new file"), ("response", "new response"), ("submitted", "new response"), ("submits", "new response"), ("submission", "new response"),
               ("答卷", "new response"), ("comment", "new comment"), ("评论", "new comment"), ("ticket", "new ticket"),
               ("工单", "new ticket"), ("message", "new message"), ("消息", "new message"), ("咨询", "new message"), ("私信", "new message"),
               ("留言", "new message"), ("inquiry", "new message"), ("enquiry", "new message"), ("record", "new record"),
               ("记录", "new record"), ("sign", "new signup"), ("注册", "new signup"), ("review", "new review"),
               ("评价", "new review"), ("meeting ends", "meeting ended"), ("meeting ended", "meeting ended"), ("会议结束", "meeting ended"),
               # what else an app's event names (before the generic "event" and "post": "when a bug is created in Jira, post…")
               ("取消订阅", "subscription canceled"), ("退订", "subscription canceled"), ("cancel", "cancellation"),
               ("replies", "new reply"), ("reply", "new reply"), ("回复", "new reply"), ("posts in", "new message"),
               ("审批通过", "approval approved"), ("审批单通过", "approval approved"), ("关注", "new follower"), ("follow", "new follower"),
               ("bug", "new bug"), ("缺陷", "new bug"), ("task", "new task"), ("任务", "new task"), ("deal", "new deal"),
               ("商机", "new deal"), ("candidate", "new candidate"), ("候选人", "new candidate"), ("简历", "new application"),
               ("线索", "new lead"), ("报销", "new expense report"), ("申请", "new application"), ("审批", "new approval request"), ("报名", "new signup"), ("invoice", "new invoice"),
               ("发票", "new invoice"), ("subscriber", "new subscriber"), ("subscribe", "new subscriber"), ("merge request", "new merge request"),
               ("mr", "new merge request"), ("合并请求", "new merge request"), ("commit", "new commit"), ("release", "new release"),
               ("alert", "new alert"), ("告警", "new alert"), ("报警", "new alert"), ("video", "new video"), ("视频", "new video"),
               ("article", "new article"), ("文章", "new article"), ("笔记", "new note"), ("帖子", "new post"), ("tweet", "new tweet"),
               ("推文", "new tweet"), ("appointment", "new appointment"), ("booking", "new booking"), ("book", "new booking"), ("预约", "new appointment"),
               ("refund", "new refund request"), ("退款", "new refund request"), ("customer", "new customer"), ("客户", "new customer"),
               ("user", "new user"), ("用户", "new user"),
               ("dm", "new message"), ("event", "new event"), ("post", "new post"))
# default service when the event names none ("when I get a new email" → email)
EVENT_SERVICE = (("email", "email"), ("邮件", "email"), ("inbox", "email"), ("sheet", "google_sheets"),
                 ("spreadsheet", "google_sheets"), ("表格", "google_sheets"))

# ---------------------------------------------------------------- conditions

IF = ascii_re(r"^(?:and\s+|but\s+)?(?:if|when|in case|only if|only when|whenever)\b|^(?:到时候|届时|这时)?,?\s*(?:如果|若|假如|要是|当(?!天|日|晚|月|年|前|下|场|面|即|然)|一旦|如(?!何|今|下|上)|只有(?=[^,，。；;]{2,20}[,，]\s*才))"
              r"|^[\u4e00-\u9fff]{1,4}(?:要是|如果|假如|若是)"  # "用户要是想投诉": subject first
              # "For the ones scoring 80 or higher, …": the items a threshold picks out
              r"|^(?:and\s+)?for (?:the ones|those|the \w+|any|anyone|each one|(?:any|every|each|all the|all) [\w-]+?s?)\s+(?=(?:scoring|scored|rated|with a score of|that score|that scores|who score|who scores|which scores?|whose score)\b)"
              # "库存低于10件时，…": a threshold that holds when the run starts
              r"|^(?=[\u4e00-\u9fff]{1,8}(?:大于|小于|高于|低于|超过|不低于|不少于|不超过|少于|多于|不到|不足)\s*[\d.]+\s*[\u4e00-\u9fff%]{0,2}?(?:时|的时候)(?:[,，]|$))")
ELSE = ascii_re(r"^(?:and\s+|but\s+)?(?:otherwise|else|if not|or else|in all other cases|for everything else|for anything else|for the rest|for everyone else|for everybody else|for all others)\b"
                r"|^(?:and\s+|but\s+)?(?:all|any) other (?:\w+ ){0,2}?(?:orders|tickets|leads|emails|messages|requests|reviews|items|cases|ones|rows|records|deals|candidates|applicants|submissions|responses|issues|alerts|payments|invoices|customers|users|contacts|transactions|expenses|claims)\b"
                r"|^(?:否则|不然|不是的话|不是就|否的话|不到|没超过|没有超过|未超过|没到|其他情况|其余情况|反之|如果不是|若不是|没有的话|不满足|其余的|其他的|其它的|剩下的|正常(?:的话)?就?)"
                r"|^不[\u4e00-\u9fff]{1,4}(?:的话)?就|^没有?[\u4e00-\u9fff]{1,4}(?:的话|就)|^(?:都|全都|全部|一个都)不(?:合适|符合|匹配|是|满足)(?:的话|的)?"
                r"|^(?:其他|其余|其它|剩下)(?:[\u4e00-\u9fff]{1,3}?(?:的|就)|的|情况)?")
THEN_SPLIT_ZH = compile_filtered(r"的话,?|的时候,?|(?:就|则|那么|便)|,|时(?=[^,]{0,4}(?:发|推|存|写|记|转|给|通知|提醒|建|创建))")
CMP_ZH_VALUE_FIRST = compile_filtered(r"(?P<val>-?(?<!\d)\d+(?:\.\d+)?)\s*(?P<unit>万|千)?(?:元|块|分|条|个|件|天|单|%|颗?星)?\s*(?P<op>及以下|及以上|及以内|以下|以上|以内|或以上|或以下)")
ZH_SHORT_COND = compile_filtered(r"^[\u4e00-\u9fffa-z0-9 ]{1,12}?(?:的话|就(?!行|好|可以|够了)|则)")
ELSE_LABEL = ascii_re(r"^(?:everything else|anything else|anyone else|anybody else|everyone else|any other \w+|all other \w+|all (?:the )?others?|the rest|others?|other \w+|otherwise|else|rest)\b"
                      r"|^(?:其他|其余|剩下的|其它|剩余)")
GOES = ascii_re(r"\s*(?:->|=>|→)\s*|\s+=\s+(?=(?:" + ACTION_VERBS + r")\b)|\s+becomes?\s+(?=an?\s)|\s+gets?\s+(?=(?:an?\s+)?(?:[\w-]+\s+){0,3}?(?:email|message|call|sms|text|alert|invite|invitation)\b)|\s+(?:is|are|gets?) (?:emailed|logged|posted|sent|saved|added|stored|written|flagged|forwarded)\s+(?:to\s+|in\s+|into\s+)?|\s+(?:goes|go|should go|are sent|is sent|get sent|gets sent|are routed|is routed|are forwarded|"
                r"is forwarded|are assigned|is assigned)\s+(?:to\s+)?|\s*,?\s+(?:send|post|forward|route|assign|escalate|notify|email|create|add)\b(?!\s*(?:,|and\b|or\b|signatures?\b|address(?:es)?\b|field\b|column\b))"
                r"|(?:的)?(?:在.{1,10}?(?:上|里))?(?:通过.{1,8}?)?(?:给.{1,8}?)?(?:先|直接|统一|一律)?(?:就|则)?(?:调用?(?=[^,，。；;]{1,12}?接口)|发到|发送到|发给|转给|转到|转发到|转发给|交给|提个|提一个|建个|建成|建为|记为|分配给|推送到|推送给|通知|(?<![保储备留缓封生转])存到|写入|写进|记到|记录到|提交到|创建|建|同步到|推到|推给|(?<![研开启出激引收分沙])发(?!货|布会|票|现|生(?!日)))")
CMP_EN = ascii_re(r"(?P<field>[a-z][a-z _']{0,30}?)\s+(?:is\s+|are\s+|was\s+|of\s+)?(?P<op>greater than or equal to|less than or equal to|"
                  r"at least|at most|no more than|no less than|above|over|greater than|more than|higher than|exceeds?|exceeding|bigger than|"
                  r"below|under|less than|lower than|fewer than|smaller than|>=|<=|>|<|==|=|!=|equals?|is not|isn't|isnt|is no longer|doesn't equal|does not equal|not equal to|is)\s+"
                  r"(?P<val>[$€£¥]?-?\d{1,3}(?:,\d{3})+|[$€£¥]-?\d+(?:\.\d+)?(?:k|mm?|bn)?\b|-?\d+(?:\.\d+)?(?:k|\s*(?:million|billion)\b)?|\"[^\"]+\"|'[^']+'|[a-z][\w-]*)")
CMP_ZH = compile_filtered(r"(?P<field>[\u4e00-\u9fffa-z_]{0,8}?)\s*(?P<op>大于等于|小于等于|不低于|不少于|不超过|不高于|大于|小于|高于|低于|超过|多于|少于|不足|不到|"
                    r"达到|等于|不等于|不是|为|是|>=|<=|≥|≤|>|<|=)\s*(?P<val>-?\d+(?:\.\d+)?\s*(?:万|元|分|条|个|件|天|%|度|℃|°c|mb|gb|kb|tb|ms|秒|毫秒|分钟|小时)?|[^\W的就则时并]{1,10})")
OPS = {"greater than or equal to": "ge", "less than or equal to": "le", "at least": "ge", "at most": "le", "no more than": "le",
       "no less than": "ge", "above": "gt", "over": "gt", "greater than": "gt", "more than": "gt", "higher than": "gt",
       "exceed": "gt", "exceeds": "gt", "exceeding": "gt", "bigger than": "gt", "below": "lt", "under": "lt",
       "less than": "lt", "lower than": "lt", "fewer than": "lt", "smaller than": "lt", ">=": "ge", "<=": "le", ">": "gt",
       "<": "lt", "==": "eq", "=": "eq", "equal": "eq", "equals": "eq", "is": "eq", "is not": "ne", "isn't": "ne", "isnt": "ne", "is no longer": "ne", "!=": "ne", "doesn't equal": "ne", "does not equal": "ne", "not equal to": "ne",
       "大于等于": "ge", "小于等于": "le", "不低于": "ge", "不少于": "ge", "不超过": "le", "不高于": "le", "大于": "gt",
       "小于": "lt", "高于": "gt", "低于": "lt", "超过": "gt", "多于": "gt", "少于": "lt", "不足": "lt", "不到": "lt", "达到": "ge",
       "等于": "eq", "不等于": "ne", "不是": "ne", "为": "eq", "是": "eq", "≥": "ge", "≤": "le"}
FIELD_NAMES = {"score": "score", "scoring": "score", "scored": "score", "rating": "rating", "评分": "score", "分数": "score", "得分": "score", "分": "score",
               "total": "total", "amount": "amount", "order total": "total", "金额": "amount", "总额": "amount", "总价": "amount",
               "订单金额": "amount", "价格": "price", "price": "price", "status": "status", "状态": "status", "库存": "stock",
               "类目": "category", "商品类目": "category", "品类": "category",
               "stock": "stock", "inventory": "stock", "priority": "priority", "优先级": "priority", "sentiment": "sentiment",
               "情感": "sentiment", "情绪": "sentiment", "数量": "count", "count": "count", "number": "count", "quantity": "quantity",
               "星级": "rating", "stars": "rating", "star rating": "rating", "budget": "budget", "预算": "budget",
               "temperature": "temperature", "温度": "temperature", "age": "age", "年龄": "age", "size": "size",
               "confidence": "confidence", "置信度": "confidence", "deal value": "amount", "value": "value", "revenue": "revenue",
               "营收": "revenue", "销售额": "revenue", "销量": "sales", "点赞": "likes", "likes": "likes", "views": "views",
               "阅读量": "views", "days": "days", "天数": "days", "risk": "risk", "风险": "risk", "urgency": "urgency",
               "紧急程度": "urgency", "category": "category", "类型": "category", "type": "category", "类别": "category",
               "原因": "reason", "reason": "reason", "渠道": "channel", "channel": "channel", "来源": "source", "source": "source",
               "地区": "region", "region": "region", "城市": "city", "city": "city", "部门": "department", "department": "department",
               "方式": "method", "支付方式": "payment_method", "等级": "level", "级别": "level", "level": "level", "国家": "country",
               "country": "country", "语言": "language", "套餐": "plan", "plan": "plan", "状态码": "status_code",
               "返回码": "status_code", "status code": "status_code", "响应码": "status_code", "http status": "status_code"}

# ---------------------------------------------------------------- AI tasks (first match wins, in this order)

# a document or entry booked in an ERP / finance system, not a text an AI writes
BOOKS_RECORD_ZH = r"记账(?![表本簿单])|入账(?![表本簿单])|做账(?![表本簿单])|记一笔(?:账)?|(?:生成|开|录入?|做)(?:一张|一个|一笔|一条|一份)?[\u4e00-\u9fff]{0,8}?(?:出库单|入库单|销售单|采购单|收款单|付款单|凭证|单据)"
AI_TASKS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((task, ascii_re(p)) for task, p in (
    # "an agent that…", not a person: "for the agent", "our support agents", "a real estate agent"
    ("agent", r"(?<!the )(?<!our )(?<!their )(?<!human )(?<!live )(?<!estate )(?<!assigned )(?<!each )(?<!listing )(?<!travel )(?<!insurance )\bagents?\b(?!'s)(?!\s+to\s+(?:review|approve|check|look over|pick up))|智能体|\bthat can (?:use|call|search|look up)\b|\bwith tools\b|能(?:够)?(?:调用|使用)(?:工具|.{0,6}工具)|会用工具"),
    ("translate", r"\btranslat\w*|翻译|译成|译为|翻成"),
    ("classify", r"\b(?:rate|rates|grade|grades|flag|flags)\s+(?:it|them|each(?: one)?|the \w+|every \w+)\s+as\s+(?:either\s+)?[\w-]+(?:,\s*[\w-]+)*,?\s+or\s+[\w-]+|"  # "rate each as urgent or normal"
                 r"\b(?:decide|determine|pick|choose|work out|figure out) (?:which|what) [\w ]{1,30}?:\s*[\w -]+(?:,\s*[\w -]+)*,?\s+or\s+[\w -]+|\b(?:decide|determine|pick|choose) (?:which|what) (?:team|department|category|queue|channel|group|type|bucket|owner|tier|plan)\b|\b(?:set|assign|give)\s+(?:it\s+|them\s+)?(?:the\s+|a\s+)?(?:priority|severity|category|level|tier|urgency)\s+(?:to|of|as)\s+[\w-]+(?:,\s*[\w-]+)*,?\s+or\s+[\w-]+|\b(?:work out|figure out|decide) what\b|\b(?:if|whether)\s+(?:it'?s|it is|this is|they'?re|they are)\s+(?:an?\s+)?+[\w -]+?(?:,\s*+(?:an?\s+)?+[\w -]+?)+,?\s+or\s+|\b(?:decide|determine|detect|judge|work out|figure out|tell)\b.{0,20}?\b(?:severity|priority|category|type|urgency|sentiment|intent|topic)\b|\bwhether [\w ]{0,40}?(?:\b(?:is|was|are|sounds|looks|seems)|'s) [\w ,-]+ or \w+|\bclassif\w*|\bcategori[sz]\w*|(?<!\bin )(?<!\binto )(?<!\bto )\btriage\w*(?!\s+(?:google|sheet|spreadsheet|board|table|list|channel|queue|doc|database|notion|airtable|meeting|call|rotation)\b)|\bsentiment\b|\bdetect (?:the )?(?:intent|language|topic)|\btags? (?:it|them|each|every)\b(?!\s+(?:(?:with|as)\s+)?['\"])|\bsort(?:s|ed)?\b[^,.;]{0,40}?\binto\b|\btags?\s+(?:(?:the|each|every)\s+)?(?:\w+\s+)?(?:as|into)\b|"
                 r"\b(?:tag|label|mark)s?\s+(?:the\s+|each\s+|every\s+|its\s+|their\s+)?[\w' ]{1,30}?\s+as\s+[\w -]+(?:,\s*[\w -]+)+,?\s+or\s+|\bdecides?\s*:\s*[\w -]+(?:,\s*[\w -]+)+,?\s+or\s+|\bhow (?:bad|serious|urgent|severe|important|hot|good|likely)\b[^:,.]{0,20}:\s*[\w -]+(?:,\s*[\w -]+)*,?\s+or\s+|"
                 r"\blabel (?:it|them|each)\b|\btag (?:the|each|every) \w+ as\b|\bsort(?:s|ed)? (?:\w+ )?into\b|\bbucket(?:s|ed)? (?:\w+ )?into\b|\broute (?:it|them|each|the|by|based)\b|\bsort (?:it|them) into\b|分类|归类|判断.{0,6}(?:类型|类别|意图|意向|情感|情绪|等级|级别)|"
                 r"情感分析|情感倾向|识别.{0,4}(?:意图|类型|情感|情绪)|(?:适合|属于|归|是)哪(?:个|一个|一|种|类|些)[\u4e00-\u9fff]{0,4}\s*[:：][^,，。；;]{1,30}?还是|分(?:一)?下类|分个类|归(?:一)?下类|判断.{0,6}(?:程度|等级|级别|优先级|类型|类别)(?=\s*\()|打标签|分拣|分流|判断是.{1,24}还是|是.{1,20}还是|分[成为].{1,30}[类种]|(?:ai|gpt|模型)[^,，。；]{0,4}?分[成为][\u4e00-\u9fffa-z0-9]{1,8}(?:[、和或]|还是)[\u4e00-\u9fffa-z0-9]{1,8}|判断.{0,8}属于|评定为|定级|按等级|(?:评为|划分为|定为|标为)[\u4e00-\u9fffa-z0-9]{1,8}(?:\s*[/、,或]\s*[\u4e00-\u9fffa-z0-9]{1,8})+"),
    ("score", r"\brate\s+(?:the\s+|its\s+|their\s+)?(?:urgency|priority|severity|quality|risk|importance|fit|relevance|lead|sentiment)\b|\b(?:from|between)\s+[01]\s*(?:-|to|and)\s*(?:5|10|100)\b|\bscor(?:e|es|ing)\s+(?:it|them|each|the|every|this|that|a|an|all|our|their|leads?|candidates?|applicants?|cvs?|resumes?|how|from|on|out)\b|\bscoring\b|\brate (?:it|them|each|the|how|their|his|her|this|these|every|all)\b|\bon a scale of\b|\bgrades?\b(?!\s+(?:with(?!\s+(?:ai|gpt|an? ai|the ai)\b)|and|to)\b)|\b[01]\s*[-–]\s*(?:5|10|100)\b|\bevaluate\b|\bassess\w*|\bqualif(?!ied\b)\w*|\brank\b|打分|评分|评估|打个分|打个.{0,12}分|评级"),
    ("extract", r"\btell me (?:the |their |its )?[\w' -]{2,30}?,\s*(?:the |their |its )?[\w' -]{2,30}?,?\s+and\s+(?:the |their |its |whether |if )|\b(?:guess|infer|determine|work out|figure out|look up)\s+(?:the\s+|their\s+|its\s+)?[\w ]{2,30}?(?:\s*(?:\+|&|,|\band\b)\s*[\w ]{2,30}?)+\s+(?:from|based on|using|out of)\b|\bextract\w*|\bparse\w*|结构化|\bstructured (?:record|data|fields|json)|\bpull(?:s|ing)? out\b|\bpull (?:the )?[\w ,]{3,60}? out of\b|\bocr\b|提取|抽取|抽出|解析|识别出|识别(?=[^,，。；]{1,12}、)(?![^,，。；]*还是)|拆分?出|一条条拆|提炼出|(?:整理|梳理)成(?:一份|一个)?[\u4e00-\u9fff]{0,4}?(?:清单|列表)|列出(?:所有|每个|每一?条)|列出[^,，。；]{0,10}?(?:清单|名单|列表)"),
    ("summarize", r"\bsummar\w*|\bdigest\b|\bbrief(?:ing)?\b|\btl;?dr\b|\brecap\b|\brundown\b|\bround-?up\b|\bcondense\b|\bkey points\b|总结|摘要|概括|简报|汇总(?!到|进|至|在|给)|提炼|归纳|日报|周报|整理(?!成?结构化)(?:一下)?"),
    ("analyze", r"\banaly[sz]\w*|\breconcil\w*|\bexplain\w*|\bguess\w*|\benrich\w* (?:\w+ )?with (?:the )?ai\b|\bcode review\b|\breview(?:s)? (?:the|this|each|its|their) (?:code|pr|pull request|diff|mr|changes|code changes|commits?|changed files)\b|"
                r"代码审查|代码评审|审查|解释|检查.{0,16}(?:是否|全不全|对不对|一致|有没有)|查一遍|核对|对账|\bflag (?:the|any|which|those|all)\b|\binsights?\b|\btrends?\b|\bkpi\b|分析|洞察|趋势|找出|识别出|检测出|筛选出|(?:内容|安全|合规|ai)(?:安全)?审核|审核(?:内容|一下|是否)|\bmoderate (?:the|each|every|it|them|content|comments|posts)\b|\bcontent moderation\b|\bchecks? (?:it|them|this|that|each \w+|the \w+) against\b|\brecommend\w*\b|推荐(?!给|到|发|结果|的|语|信|码|人)|\bassess\w*|核对|评估"),
    ("answer", r"(?<!question \+ )(?<!question and )(?<!questions and )(?<!question & )\banswer\w*|\brespond to (?:the )?(?:question|customer|user)|\breply to (?:the )?(?:question|customer|user|email)|\b(?:reply|respond)(?: to (?:them|him|her|it))? with an?\b|(?<![新的热高])回答|答复|解答|回复"),
    ("generate", r"\bwrites?\b(?!\s+(?:the\s+|it\s+|them\s+|this\s+|that\s+|each\s+|all\s+)?(?:measurements?|results?|data|values?|numbers?|rows?|records?|totals?|counts?|scores?|metrics?|figures?|status(?:es)?|timestamps?)\b)|\bai[- ](?:written|generated)\b|\b(?:an?\s+)?(?:one-line|short|brief|quick)\s+ai\s+(?:comment|note|take|remark|blurb|update)\b|\brewrit\w*|\breword\w*|\brephras\w*|\bpolish\w*|润色|改写|重写|\bsuggestions?\b|\bsuggest (?:a|an|some|what|which|how)\b|\bdraft\w*|\bgenerat\w*|\bcompose\b|\bcreate (?:a |an )?(?:post|reply|response|caption|summary|report|email|description|"
                 r"article|blog|tweet|outline|newsletter|copy|message)|\bturns? (?:it|them|these|this|the|those|each|each one|every one|all) (?:[\w-]+ ){0,4}?into\b|\breport\b|\b(?:pick|choose|select)\b|挑出|挑选|挑|选出|生成|撰写|写好|写完|改成(?=.{0,12}(?:版本|风格|文案|长文|短文|笔记|帖子|推文|文章|口吻|语气))|写(?:一|成|个|篇|份|封)|起草|创作|初稿|草稿(?![表箱夹库])|改写|润色|报告|整理成(?!结构化)"
                 # what is only sent but has to be written first: "send me a motivational quote", "出一道复习题"
                 r"|\b(?:motivational|inspirational|inspiring|uplifting|famous|daily|random|funny)\s+quotes?\b|\bquote of the day\b|\bjokes?\b|\bhaikus?\b|\briddles?\b"
                 r"|\bfun facts?\b|\btrivia\b|\baffirmations?\b|\bpep talk\b|\bword of the day\b|\b(?:quiz|practice|review|trivia) questions?\b|\b(?:prep|preparation) notes?\b|\bwriting prompts?\b"
                 r"|出(?:一|几|两|三|五|十|\d+)?道.{0,10}题|出题|(?:讲|编|写)?(?:一个|个|几个)?笑话|名言|金句|心灵鸡汤|每日一句|谜语"),
))
AI_HINT = ascii_re(r"\b(?:ai|llm|gpt|chatgpt|model|openai|claude)\b|大模型|人工智能|\bai\b")

# ---------------------------------------------------------------- deliveries, waits, loops

DELIVER = ascii_re(r"\b(?:page|pages|flag|flagged|send|sends|sent|post|posts|notify|notifies|alert|message|ping|email|e-mail|mail|forward|share|publish|"
                   r"save|store|append|add|log|record|insert|upsert|update|sync|push|write|create|open|file|upload|put|escalate|text|dm|sms)\b"
                   r"|发送|发到|发给|发至|发布|推送|通知|提醒|保存|存到|存入|存储|写入|写到|追加|记录|同步|创建|新建|提交|转发|转给|告警|报警|回过去|发回|"
                   r"(?<!开)(?<!出)发(?!现|生(?!日)|票|起|展|来|过来|货)")
DELIVER_OP = (("append", ascii_re(r"\bappend\w*|(?:汇总|整理|合并)(?:到|进)(?=[^,，。；;]{0,14}?(?:表|文档|数据库|台账|sheet|excel|notion|airtable))|\badd\b.{0,70}?\b(?:to|into|in|on|as)\b|\btag (?:the|it|them)\b|\bput\b.{0,30}?\b(?:in|into|on|onto)\b|\badd (?:it |them |a |as a |each |the )?(?:new )?(?:row|line|record|entry)|\blog(?:s|ged)?\b|\brecord(?:s|ed)?\b|"
                                  r"\binsert\b|追加|(?:新增|添加|加|插入)(?:一|1)?(?:行|条(?:[\u4e00-\u9fff]{0,4}?记录)?)|(?<!会话)(?<!对话)(?<!聊天)(?<!通话)(?<!交易)(?<!销售)(?<!购买)(?<!操作)(?<!浏览)(?<!历史)(?<!访问)(?<!登录)(?<!消费)(?<!考勤)(?<!打卡)(?<!沟通)(?<!跟进)(?<!发布)(?<!运行)(?<!变更)(?<!审批)(?<!报销)(?<!就诊)(?<!维修)(?<!出入)(?<!充值)(?<!借阅)(?<!学习)(?<!订单)(?<!物流)(?<!发货)(?<!合同)(?<!所有)(?<!全部)(?<!客户)(?<!会员)(?<!员工)(?<!库存)(?<!工单)(?<!线索)(?<!提交)(?<!修改)(?<!评论)(?<!聊天)(?<!commit)记录(?!拉|取|导|读|调|查|抓|捞|里|中)|插入|插进|灌进|记一(?:行|笔|条)|(?<!笔)记下|(?<!笔)记(?:到|进|在|入)|录入|登记到|填(?:到|进|入)")),
              ("create", ascii_re(r"\bcreate\w*|\bcreating\b|\bbook (?:a|an|the) (?:[\w-]+ ){0,2}(?:viewing|meeting|call|demo|slot|appointment|room|interview|event|session)s?\b|\bturn (?:it|them|this|that|the \w+|each \w+|only (?:the )?\w+|these|those|all (?:the )?\w+) into (?:an? )?(?:new )?(?:[\w-]+ )?(?:issue|ticket|card|task|page|row|record|contact|deal|lead|event)s?\b|\bissue (?:a |the )?refund|\brefund (?:the|their|his|her|it|them)\b|\bopen (?:a|an|one)\b|\braise (?:a|an|one)\b|\bfile (?:a|an|one)\b|\b(?:trigger|fire)(?:s|ed)? (?:a|an) (?:[\w-]+ ){0,2}(?:incident|alert|page)\b|\bnew (?:ticket|issue|card|task|page|deal|contact)|发起退款|(?<=调)[a-z]{2,12}退款|创建(?!的)|新建(?!的)|开一个|建一个|(?<![创新组搭])建(?:个|张|条|篇|份|一个|一张|一条|一篇|一份)?(?:[\u4e00-\u9fff]{0,6}?(?:文档|笔记)|工单|任务|卡片|商机|联系人|线索|客户|日程|会议|页面|issue|ticket|deal|lead)|[提开]工单|(?<=里|上|中)(?:建|开|提)单(?![据价])|在[a-z][a-z0-9 ]{1,15}(?:建|开|提)(?:个|一个)?单(?![据价])|在[\u4e00-\u9fffa-z0-9]{2,8}?(?:里|上)?下(?:一个|个|一)?单(?![据价])|(?<=里|上|中)(?:建|开|提)(?:个|一个|一张|张)?(?:bug单|工单|需求单|售后单)"
                                    # "在金蝶里生成销售出库单", "去金蝶记账": a record booked in the finance system
                                    r"|" + BOOKS_RECORD_ZH)),
              ("update", ascii_re(r"\bset(?:ting|s)? (?:the |its |their |that )?(?:(?:row|record|page|card|issue|ticket|deal|order)'s )?['\"]?[\w -]{1,30}['\"]? (?:to|=) |"
                                  r"\bfill (?:in |out )?(?:the |an? |its |their )?['\"]?[\w ;-]{1,30}['\"]? (?:column|field|cell|property)\b|"
                                  r"\binto (?:the|its|their|that) (?:(?:page|row|record|card|issue)'s )?['\"]?[\w ;-]{1,30}['\"]? (?:column|field|property)\b|"
                                  r"(?<!an )(?<!a )(?<!investor )(?<!weekly )(?<!monthly )(?<!daily )(?<!status )(?<!progress )(?<!product )(?<!project )(?<!quick )(?<!short )\bupdate\w*|(?<!an )(?<!a )\bupdating\b|\bclose (?:it|them|the \w+)\b|\barchive\b|\bmove (?:it|them|the \w+) to\b|\bmark (?:it|them|the (?:\w+ ){0,2}\w+) as\b|更新(?!过的|了的|的|说明|日志|记录|内容|公告)|标记(?:一下|下)|(?:做|打)(?:个|一下)?标记|标注一下|填回|回填|修改(?!过的|的)|(?<!未)(?<!已)(?<!已经)关闭(?!的)|归档|改成(?!.{0,12}(?:版本|风格|文案|长文|短文|笔记|帖子|推文|文章|口吻|语气))|改为|标记为|标成|设为|置为")),
              ("upsert", ascii_re(r"\bsave\w*|\bstore\w*|\bstash\w*|\bcopy\b.{0,40}?\binto\b|\bwrite (?:it|them|this|that|both|these|those|the \w+) back\b|\bsync\w*|\bwrites?\b.{0,40}?\b(?:to|into)\b|\bimport\w*\b.{0,40}?\binto\b|\bupsert|保存|存到|存入|存成|存为|写入|写进|写回(?!复)|回写|同步回|归档(?:到|进|至)|(?:都|统一|一起)?放(?:到|进|入)(?=[^,，。;；]{0,20}?(?:页面|文档|表|库|文件夹|notion|飞书|语雀|drive|云盘))|导入(?:到|进)?|同步|存储|入库|存一份|留一份|存个档|备份(?:到|一份)")),
              ("post", ascii_re(NOUN_POST + r"\bpost(?:s|ed|ing)?\b|\bpublish\w*|\bshare\b|发布|发帖|发表")))


@lru_cache(maxsize=2048)  # asked of the same clause by several steps of the planner
def delivery_op(text: str) -> str | None:
    """The storage/write operation a text names (append / create / update / upsert / post), if any."""
    if WRITE_BACK.search(text):
        return "update"  # "把分类结果写回这一行", "write the score back to the row": the row that is there
    return next((name for name, rx in DELIVER_OP if rx.search(text)), None)


WRITE_BACK = ascii_re(r"(?:写回|回写|填回|更新到?)(?:到)?(?:这一?行|该行|原行|这条记录|原记录|原表|这一?条)|"
                      # "写回表格的D列", "回填到摘要字段", "write the translation back into column C": a field of the row read
                      r"(?:写回|回写|填回|回填)(?:到)?[^,，。；;]{0,10}?(?:字段|列|栏)|\bback (?:to|into|in) (?:the )?(?:column [a-z]\b|[\w-]+ (?:column|field)\b)|"
                      r"\bwrite (?:it|them|the \w+|that|this)(?: \w+)? back (?:to|into|in) (?:the|that|this|each) (?:row|record|page|card)\b")


def asks_to_write(text: str) -> bool:
    """Whether the text asks to send or store something ("post it to Slack", "记到 Notion")."""
    return bool(SEND.search(text)) or delivery_op(text) is not None


STORAGE_WORDS = ascii_re(r"\b(?:sheet|spreadsheet|table|database|db|airtable|notion|crm|record|row|log)\b|表格|数据库|多维表格|数据表|记录")
WAIT_UNTIL = ascii_re(r"\bwait (?:until|till|for)\s+(?P<until>[^,.;]{3,60})|等到(?P<until2>[^,，。]{2,20})"
                      # "DM me 30 minutes before the meeting starts", "在会议开始前15分钟提醒我": until then
                      r"|\b(?P<until3>\d+\s*(?:minutes?|mins?|hours?|days?)\s+(?:before|ahead of|prior to)\s+(?:the|their|each|its)\s+[\w ]{2,30}?)(?=$|[,.;]|\s+(?:and|with|so)\b)"
                      # "24 hours after the meeting, send them a thank-you": after the time the event is about
                      r"|\b(?P<until5>(?:\d+|an?|one|two|three)\s*(?:minutes?|mins?|hours?|days?)\s+after\s+(?:the|their|each|its)\s+(?:meeting|call|appointment|demo|webinar|interview|session|visit|class|event|booking)s?)\b"
                      r"|(?P<until4>(?:会议|活动|预约|直播|课程|航班|面试|约会|开会|上课|开始)(?:开始)?前\s*[\d一二三四五六七八九十两半]+\s*(?:分钟|小时|天)"
                      r"|(?:会议|活动|预约|直播|课程|面试|约会|开会|上课)(?:结束)?后\s*[\d一二三四五六七八九十两半]+\s*(?:分钟|小时|天))")
WAIT = ascii_re(r"\bwait(?:s|ing)?\s+(?:for\s+)?(?:another\s+|a further\s+|an additional\s+|an extra\s+)?(?P<n>\d+|a|an|one|two|three|four|five|six|seven|ten|twenty|thirty)\s+(?P<unit>minute|hour|day|week|month)s?"
                r"|(?<!touched )(?<!updated )(?<!active )(?<!replied )(?<!changed )(?<!opened )(?<!seen )(?<!used )(?<!logged in )(?<!contacted )\b(?:after|in)\s+(?P<n2>\d+|a|an|one|two|three|four|five|six|seven|ten)\s+(?P<unit2>minute|hour|day|week)s?\b(?:\s+(?:later|of no|without))?"
                r"|\b(?P<n5>\d+|a|an|one|two|three|four|five|six|seven|ten)\s+(?P<unit5>minute|hour|day|week)s?\s+later\b"  # "3 days later remind …"
                r"|(?<![每超])(?:等待?|过|隔)\s*(?P<n3>\d+|[一二两三四五六七八九十]+|半)\s*个?(?P<unit3>分钟|小时|天|周|个月|星期)"
                # "7 天后再发一封邮件": a step that starts N days later (not "3天后到期的")
                r"|(?:^|(?<=[,，;；]))\s*(?P<n4>\d+|[一二两三四五六七八九十]+|半)\s*个?(?P<unit4>分钟|小时|天|周|个月|星期)(?:之?后|以后)(?=\s*(?:再|,|，|给|发|提醒|检查|查|看|去|如果|若|要是|假如|在|把|让|用|通知|创建|建|自动))"
                # "入职满一周再发问卷，满30天的时候提醒HR": that long after the event that started the run (see ``since_event``)
                r"|(?:^|(?<=[,，;；&]))\s*(?:入职|注册|下单|购买|开通|试用|签约|加入|入会)?满\s*(?P<n6>\d+|[一二两三四五六七八九十]+|半)\s*个?(?P<unit6>天|周|个月|星期)"
                r"(?:的时候|时|之?后|以后)?(?=\s*(?:再|就|,|，|给|发|提醒|在|把|让|用|通知|自动))")
APPROVAL = ascii_re(r"(?<!once )(?<!after )(?<!when )(?<!if )(?<!once it's )(?<!once it is )(?<!recommend )(?<!suggest )(?<!auto-)\bapprov(?!ed\b)(?!ing (?:comment|review)\b)(?!e (?:the |this |that )?(?:pr|pull request)\b)(?!e (?:or|/) (?:deny|reject|decline))(?!e (?:it |them |the \w+ )?(?:automatically|via|through|using)\b)\w*|\bsign(?:s|ed)? off\b|\bwait(?:s|ing)? for\b[^,.;]{0,40}?\bto (?:approve|accept|review)\b|\bhuman review|\bmanual review|\bwait(?:s|ing)? for (?:my|our|your|the (?:manager|owner|editor|lead)'s) (?:ok|okay|go-ahead|sign-off|green light|approval)\b|\b(?:i|we)\s+(?:will\s+|can\s+|then\s+|get to\s+)?(?:approve|review|check|okay|ok)\s+(?:or (?:reject|deny|decline)\s+)?(?:it|them|the (?:draft|reply|post|tweet|text|email|message|copy))\b|\breview(?:s|ed)? (?:and approve|it before|before)|"
                    r"\b(?:have|let|get)\s+(?:their|the|my|our|his|her|a|an)\s+(?:\w+\s+)?\w+\s+(?:to\s+)?approve\s+or\s+(?:reject|deny|decline)\b|"  # "have their manager approve or reject it"
                    r"等(?:我|你|老板|主管|领导|经理|负责人|财务|法务|运营|店长|总监|[\u4e00-\u9fff]{1,4}?)?(?:审批|审核|批准)|"
                    r"(?:给|交给|发给|提交给)(?:我|主编|老板|主管|领导|经理|负责人|总监|编辑|法务|[\u4e00-\u9fff]{1,5}?)(?:审核|审批|过目|把关)(?![\u4e00-\u9fff]{0,2}(?:结果|意见))|(?<!钉钉)(?<!飞书)(?<!企业微信)(?<!oa)审批(?=[^里中]|$)(?!通过后|通过就|通过之后|通过以后|通过的|通过事件|内容|单|记录|流程|结果)|经过.{0,4}审核|由我审核|我审核|我点通过|我确认(?:后|了)|审核通过(?!后)|批准(?!后)|人工审核|人工确认|确认(?:后|之后|以后)|审核后|同意后")
LOOP = ascii_re(r"\bfor (?:each|every)\b|\brow by row\b|\bone (?:by|at a) (?:one|time)\b|\b(?:each|every) (?!time\b|new\b|other\b|into\b|with\b|from\b|that\b|gets\b|has\b|is\b|morning|day|week|month|year|evening|night|hour|minute|"
                r"weekday|workday|business day|monday|tuesday|wednesday|thursday|friday|saturday|sunday|quarter)[a-z]{3,}\b|\b(?:go|goes|going) through (?:each|every)\b|\bloop (?:over|through)\b|\biterate\b|遍历|\beach (?:of (?:them|the|those|these)|one|row|item|record|lead|order|email|ticket|issue|file|entry|article|story|"
                r"review|comment|product|customer|candidate|applicant|message|post|link|url|contact|line)\b|\bone by one\b|\bindividually\b|"
                r"(?<!not one )(?<!not )(?<!instead of one )(?<!rather than one )\bper (?:row|item|record|lead|order)\b|逐条|逐个|逐一|逐篇|逐笔|逐行|逐封|逐份|逐单|逐家|逐位|每一条|每一个|每条|每个|每一行|每行|每封|每篇|每一篇|每份|每(?:一)?位(?=[\u4e00-\u9fff])|依次|挨个|批量|"
                r"一个一个|一个个|一条一条|一条条(?!拆|列|分出|提取|抽)|一篇一篇|一篇篇|一单一单|一单单|一行一行|一行行|一封一封|一封封|一笔笔|一笔一笔")
BATCH = ascii_re(r"\bin (?:batches|chunks|groups) of\s+(?P<n>\d+)|\b(?:batch(?:es)?|chunks?) of\s+(?P<n2>\d+)|\b(?P<n3>\d+)\s+(?:\w+\s+)?at a time\b|每\s*(?P<n4>\d+)\s*(?:条|个|行|封|份)?\s*一批|每批\s*(?P<n5>\d+)|分批.{0,4}?(?P<n6>\d+)|每\s*(?P<n7>\d+)\s*(?:条|个|行|封|份)\s*一组|按\s*(?P<n8>\d+)\s*(?:人|条|个|行|封|份|单)\s*一批")
AGGREGATE = ascii_re(r"^(?:finally|afterwards|at the end)\b|^最后|\bwith (?:the|a) (?:full |complete |whole )?list\b|\bpost the list\b|\bsend (?:me )?the list\b|\b(?:all|together|overall|combined|digest|report|roundup|weekly|daily|summary of (?:all|the)|one message|one (?:summary|combined)|a single (?:email|message|summary))\b|汇总|总结|简报|日报|周报|整体|合并|一起|拼成|拼接|合成一|^(?:并|再|然后)?(?:把|将)?(?:这份|这个|整个)?(?:名单|清单)")
PARALLEL = ascii_re(r"\bin parallel\b|\bat the same time\b|\bsimultaneously\b|\bconcurrently\b|并行|同时")
WEB_SEARCH = ascii_re(r"\bsearch(?:es|ing)? (?:the )?(?:web|internet|online|google)\b|\bweb search\b|\bgoogle (?:for|it)\b|\blook (?:it |them )?up online\b|"
                      r"\bsearch for\b|\bsearch(?:es|ing)? (?:the )?(?:news|press|media)\b|\b(?:news|press) (?:mentions|coverage) of\b|\b(?:research|look up|find|check)\b.{0,40}\b(?:on the web|online|on the internet)\b|联网搜|网上搜|搜索引擎|上网搜|搜索(?:网络|互联网|相关)|搜一下|搜索(?:网上|网络上|全网)|(?:搜|搜索|查找|查一下)[^,，。；;]{0,16}?(?:最新)?(?:新闻|报道|舆情)|(?:网上|网络上|互联网上)[^,，。；;]{0,16}?的?搜索结果")
KNOWLEDGE = ascii_re(r"\bknowledge ?base\b|\b(?:using|from|based on|with|in) the (?:game |product |company |team )?(?:wiki|docs|documentation|faq|help center)\b|\bour (?:\w+ ){0,2}(?:docs|documentation|handbook|wiki|faq|manuals?|policies|help center)\b(?!\s+(?:database|db|table|folder|space|board))|\bhandbook\b|\bdocuments?\b|\bpdfs?\b|"
                     r"\brag\b|知识库|文档|手册|资料库|规章制度|产品资料|说明书|(?:退换货|售后|退款|会员|隐私|公司)政策|常见问题|帮助中心"
                     # "the price list and FAQ we uploaded", "我们上传的《租户手册》": documents handed to us once
                     r"|\b(?:we|i)(?:'ve| have)? uploaded\b|\buploaded (?:docs|documents|files|faqs?|pdfs?|manuals?|guides?)\b|(?:我们|我)上传的|上传的.{0,8}(?:手册|文档|资料|文件)")
FETCH = ascii_re(r"\bback(?:s|ing)? up (?:all |the |our |every )|\b(?:fetch|fetches|pull(?! out)|pulls(?! out)|(?:get|gets)(?!\s+(?:emailed|sent|posted|saved|added|stored|logged|recorded|synced|forwarded|filed|created|written|shared|published|uploaded|tagged|flagged|routed|assigned)\b)(?!\s+(?:an?\s+)?(?:[\w-]+\s+){0,3}?(?:email|message|sms|text|notification|reminder|confirmation|alert|invite|invitation|dm)\b)|grab|grabs|read|reads|scrape|scrapes|crawl|crawls|collect|gather|download|monitor|watch|check|look(?:s|ing)? up|look(?:s|ing)? at|go(?:es)? through|looking (?:it|them|the \w+) up|query|load|import|(?<!a )(?<!the )(?<!our )(?<!my )list|"
                 r"go through|export|find|search|track|retrieve|take|enrich|polls?|"
                 # "hit the /health endpoint", "ping https://…/health": a request we make, not a message to someone
                 r"hits?(?=\s+(?:the\s+|our\s+|their\s+)?(?:https?://|/|[\w-]+\s+(?:endpoint|url|api)\b))|"
                 r"ping(?=\s+(?:https?://|[\w-]+\.[a-z]{2,}\b|(?:the|our|their)\s+(?:\S+\s+)?(?:endpoint|url|site|website|api|server)\b)))\b(?!.{0,40}\binto\b)|"
                 r"抓取|获取|拉取|读取|采集|爬取|监控|查询|导入|收集|查一下|查下|看看|看一下|(?<![提抽])取出|拿出|翻出|捞出|调出|统计(?!$)(?![,，。])|读出|拉下来|导出|调用|读|拉|抓|(?<![检审调])查(?!看)|过一遍|遍历|请求一下|请求|访问")
RESPOND = ascii_re(r"\b(?:respond|reply|return)\s+(?:to (?:the )?(?:caller|webhook|request)|with)\b|返回给|响应")
SEND = ascii_re(r"(?:用|通过|发)[\u4e00-\u9fffa-z ]{1,8}?(?:消息|短信|邮件|私信)(?:告诉|告知)|\breply (?:in|on) (?:the |that |this |a )?(?:[\w-]+ )?(?:thread|channel|chat|dm)\b|"
               r"\btell (?:me|us|him|her|them|the [\w-]+)\s+(?:in|on|via|through|by|over)\s+(?!plain\b|simple\b|detail\b|short\b|brief\b|a few\b|english\b|chinese\b|bullets?\b|words?\b)(?:the\s+|our\s+|my\s+)?[a-z#]|"  # "tell me in Telegram if …"
                # "summarize them for me by email": delivered to that person by email
                r"\b(?:for|to) (?:me|us)\s+(?:by|via|over)\s+(?:e-?mail|slack|sms|text)\b|"
                # "ask them for a review by email", "remind the student via SMS": a message to that person
                r"\b(?:ask|asks|asking|invite|remind|thank|tell|nudge)\s+(?:them|him|her|the \w+|each \w+)\b[^,.;]{0,40}?\s(?:by|via|over)\s+(?:e-?mail|sms|text|whatsapp|telegram)\b|"
                # "let their manager know by email": a message to that person
                r"\blet (?:me|us|him|her|them|(?:the|their|our|his|her|my) [\w-]+(?: [\w-]+)?|[a-z]+) know\b|\bgets? (?:an? )?(?:[\w-]+ ){0,3}?(?:email|message|msg|dm|sms|text|notification|reminder|ping|alert|invite|invitation)\b|(?:^|(?<=\band )|(?<=\bthen ))e-?mails (?:the|each|every|them|him|her|it|our|their|me|us)\b|\bpage (?:ops|the on-?call|on-?call|someone|me|us|him|her|them|the team)\b|\bgo(?:es)? out (?:through|via|with|on)\b|\bleave (?:a |an )?(?:[\w-]+ ){0,2}comment\b|\brequest changes on\b|\bcomment on\b|\b(?:send|sends|sent|" + NOUN_POST + r"post|" + NOUN_POST + r"posts|posted|notify|alert|ping|dm|forward|forwarded|publish\w*|share|push|remind|invite|flag|flagged|escalate|e-?mailed|texted|messaged|(?<!new )(?<!web )(?<!landing )(?<!notion )(?<!wiki )(?<!confluence )(?<!home )(?<!facebook )(?<!product )(?<!the )(?<!a )(?<!this )(?<!each )(?<!every )pages?|paged|assign|enroll|subscribe|raise|shoot)\b|"
                r"\b(?:e-?mail|text|message|sms)\s+(?:it|them|me|us|him|her|the|a|an|our|my|their|this|that|everyone|each|every|all|[\w.+-]+@)\b|"
                r"^(?:e-?mail|text|message|sms)\b(?!\s*(?:and|or|&|/|,)\s)|"  # not a field list: "email and dietary needs"
                r"发送|发到|发给|发至|推送|推到|推给|通知|提醒|转发|转给|转到|告警|报警|预警|发布(?!记录|历史|日志|时间)|同步到|写入|写到|写进|插进|插入到?|灌进|保存|存到|存入|存进|存成|存为|记到|(?<!会话)(?<!对话)(?<!聊天)(?<!通话)(?<!交易)(?<!销售)(?<!购买)(?<!操作)(?<!浏览)(?<!历史)(?<!访问)(?<!登录)(?<!消费)(?<!考勤)(?<!打卡)(?<!沟通)(?<!跟进)(?<!发布)(?<!运行)(?<!变更)(?<!审批)(?<!报销)(?<!就诊)(?<!维修)(?<!出入)(?<!充值)(?<!借阅)(?<!学习)(?<!订单)(?<!物流)(?<!发货)(?<!合同)(?<!所有)(?<!全部)(?<!客户)(?<!会员)(?<!员工)(?<!库存)(?<!工单)(?<!线索)(?<!提交)(?<!修改)(?<!评论)(?<!聊天)(?<!commit)记录(?!拉|取|导|读|调|查|抓|捞|里|中)|"
                r"填到|录入|追加|创建(?!的)|新建(?!的)|更新回|同步回|写回|抄送|加到|添加到|加入到|回过去|回复给|回给|发回|回一封|回封|评论到|报个|报一下|汇报|告知|说一声|播报|通报|"
                r"存档|归档到|建个|建一个|开个|提个|提一个|发回去|登记|评论在|回复在|改成(?!.{0,12}(?:版本|风格|文案|长文|短文|笔记|帖子|推文|文章|口吻|语气))|改为|更新为|修改为|标记为|标成|发起退款|(?<=调)[a-z]{2,12}退款|打电话|拨打电话|外呼|"
                r"(?<![a-z0-9.])@[\u4e00-\u9fffa-z]|comment到|评论到|回复到|回写|更新到|(?<!开)(?<!出)发(?!现|生(?!日)|票|起|展|来|过来|货)")
NEGATED = ascii_re(r"\b(?:don't|do not|dont|never|without|no need to|must not|mustn't|should not|shouldn't)\s+(?:\w+\s+){0,2}?(?:auto-?)?(?:send|post|email|publish|notify|reply|create|share|write|update|modify|change|touch|comment|sync)\b"
                   r"|\bi'll (?:send|post|publish|share) (?:it|them)\b|\bjust (?:return|give me)\b|\bonly (?:return|output)\b"
                   # "No pages, no tickets, no Slack.": a list of what must not happen
                   r"|^no\s+(?:pages?|paging|tickets?|e-?mails?|messages?|notifications?|alerts?|dms?|texts?|sms|posts?|pings?|slack|teams|"
                   r"discord|telegram|whatsapp)\b(?=\s*(?:[,.;/-]|$|and\b|or\b|no\b))"
                   # "I'll copy it and send it myself", "don't hook it up to my inbox"
                   r"|\b(?:i'll|i will|we'll|we will)\s+(?:\w+\s+){0,5}?(?:it|them)\s+(?:myself|ourselves)\b|\b(?:don't|do not|dont)\s+(?:hook|connect|wire|plug)\b"
                   r"|不要(?:直接)?(?:发|发送|推送|通知|发布|写|同步)|不用(?:发|发送|通知)|(?<![分区特识类级性告辨派])别(?:发|往.{0,8}写|同步|在.{0,8}发)|只输出|不需要发送|先别(?:发|同步|写|存|推)|我自己.{0,6}发"
                   r"|不要在.{0,10}(?:评论|修改|回复|写|发)|先不要(?:自动)?(?:回复|发|同步)|不要(?:改|修改|动)|别(?:改|修改|动)(?!态)")
URL_INPUT = ascii_re(r"\b(?:a|the|this|that|any|given|pasted)\s+(?:url|link|web ?page|article|page|website|site)\b|\burls?\b|链接|网址|网页|这篇文章")
NEWS = ascii_re(r"\bnews\b|\bheadlines?\b|\bstories\b|新闻|资讯|热点|热榜|热搜")
ZH_COND_ACTION = compile_filtered(r"(?:的话)?(?:就|则)|的(?=[^,]{0,4}(?:发|推|存|写|记|转|给|通知|提醒|建|创建))|时(?=[^,]{0,4}(?:发|推|存|写|记|转|给|通知|提醒|建|创建))")
GENERIC_OBJECT_EN = ascii_re(r"\b(?:fetch|pull|get|grab|read|check|query|look up|load|export|find|retrieve|take)\s+(?:all\s+|the\s+|our\s+|my\s+|today's\s+|yesterday's\s+|last \w+'s\s+|new\s+)*(?P<obj>[a-z][\w/ -]{2,40}?)(?=\s+(?:from|in|on|at|and|for|of|with)\b|$)")
GENERIC_OBJECT_ZH = compile_filtered(r"(?:查一下|查下|查询|看看|看一下|统计一下|统计|读取|读出|拉取|获取|抓取|导出|调用一下|调用|请求一下|请求|访问)(?:一下)?(?P<obj>[\u4e00-\u9fffa-z0-9]{2,16})")
NOT_RETURN = ascii_re(r"\b(?:doesn't|does not|didn't|did not|fails to|don't)\s+return\s+(?:an?\s+)?[\"']?(?P<val>[\w-]+)|\breturns?\s+(?:anything|something|a status|a code|a status code)?\s*(?:other than|besides|except)\s+(?:an?\s+)?[\"']?(?P<val3>\d{3})\b|返回的?(?:状态|status)?(?:不是|不等于|不为)\s*(?P<val2>\w+)")
SUBREDDIT = compile_filtered(r"\br/([a-z0-9_]{2,30})")
ONES = ascii_re(r"\b(?:only\s+|just\s+)?(?:the\s+)?(?P<label>[a-z-]{3,20})\s+ones\b|\b(?:only|just)\s+(?:the\s+)?(?P<label2>[a-z-]{3,20})\s+(?:ones|mentions|reviews|items|messages|tickets|emails|comments|leads|posts|notes|conversations)\b"
                r"|(?:只有|仅有|只|仅)(?:把|将)?(?P<label3>[\u4e00-\u9fff]{1,4})的")
FIELD_SWITCH = ascii_re(r"\b(?:switch|route|branch|split)\w* (?:on|by) (?:the )?[\"'`]?(?P<f>[a-z_]+)[\"'`]? field\b|\b(?:based on|depending on|according to) (?:the )?[\"'`]?(?P<f2>[a-z_]+)[\"'`]? field\b|(?:根据|按照?|依据|看)\s*(?P<f3>[a-z_]+)\s*字段")
ACTUATE = ascii_re(r"\b(?:switch|turn)(?:es|s|ed)? (?:on|off)\b|\b(?:approve|issue|process|refund|cancel|close|void|capture|re-?run|retry|restart|redeploy|rebuild|roll ?back)\w*\b[^,.;]{0,30}?\b(?:via|through|using|with)\s+(?:the\s+|our\s+)?[\w ]{0,24}?\bapi\b|\btrigger(?:s|ed)? (?:the |a |our )?[\w -]{0,20}(?:pipeline|job|build|deploy|workflow)\b|"
                   r"\bcall(?:s)? (?:the |our |a )?[\w -]{0,20}\bapi\b(?!'s)(?![^,.;]{0,20}\b(?:health|status|ping)\b)|调用(?:(?!查询|查).){0,10}接口(?!.{0,3}(?:查|获取|拿|拉|读|导出|取|下载|列出|统计))|调(?![用整研查度])[\u4e00-\u9fffa-z0-9]{0,8}接口.{0,6}?(?:发布|退款|退掉|部署|创建|新建|更新|同步|写入|写进|录入|下单|下一个|下个|提交|取消|约号|暂停|停用|停掉|关闭|下架|上架|标记|改成|改为|修改|删除|作废|冻结|付款|支付|打款)|触发.{0,10}(?:流水线|构建|部署)")
API_NAME = ascii_re(r"(?:through|via|using|with|call(?:s)?)\s+(?:the |our |a )?(?P<name>[\w -]{1,24}?)\s+api\b|\b(?<![\w-])(?P<name2>[\w-]+ (?:pipeline|job|build))\b")
LIST_OBJECT = compile_filtered(r"(?P<items>[\u4e00-\u9fffa-z0-9]{1,8}(?:[、,和及][\u4e00-\u9fffa-z0-9]{1,8}){1,6})")
STORAGE_GENERIC = ascii_re(r"\b(?:database|db|data warehouse)\b|数据库|数据表")
SWITCH_HEAD = ascii_re(r"\b(?:route|routes|routing|switch|classify|classif\w+|categori[sz]e|sort|split|triage|depending|based on|according to|decide|"
                       r"severity|priority|category|type|label)\b|\(|根据|分类|分成|分为|分流|[两三四五六几]类|判断|评定|等级|类型|分别|"
                       r"按.{1,14}?(?:分给|分配|分发|分派|分到|派给|派单|转给)|按\s*[a-z_]+\s*字段")
OR_MORE = ascii_re(r"(?P<val>-?(?<!\d)\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?(?<!\d)\d+(?:\.\d+)?)\s*%?\s*(?:[a-z]+\s+)?(?:or|and)\s+(?P<dir>more|higher|above|greater|over|up|less|fewer|lower|below|under)\b"
                   r"|(?P<val2>-?(?<!\d)\d+(?:\.\d+)?)\s*\+")
# A record in a named app changing state is the event that starts a run ("When a GitHub issue is
# labelled bug", "Once a PR is merged on GitHub", "If Shopify flags a new order's fraud risk as
# high", "jira ticket priority = Highest ->", "GitHub 上的 PR 合并之后", "合同在 DocuSign 上签完以后").
# clauses.find_trigger takes it only when the clause names a service that is not a messenger.
_STATES_EN = (r"labell?ed|tagged|resolved|merged|closed|completed|approved|rejected|declined|assigned|reassigned|moved|marked|"
              r"flagged|won|lost|escalated|reopened|shipped|fulfill?ed|refunded|cancell?ed|deleted|archived|signed|paid|"
              r"overdue|changes|changed|updated|set|starred|published|unpublished|disputed|failed|(?:the |a )(?:tag|label)")
STATE_EVENT = ascii_re(
    r"^(?:when(?:ever)?|once|if|as soon as|each time|every time|after)\s+(?:a|an|the|any|one of our)\s+(?:new\s+)?[\w.-]+(?:\s+[\w.-]+){0,3}?"
    r"(?:'s\s+[\w ]{1,24}?)?\s+(?:is\s+|was\s+|gets\s+|get\s+|has been\s+|are\s+)?(?:" + _STATES_EN + r")\b"
    r"|^(?:when(?:ever)?|once|if|as soon as)\s+[\w.-]+\s+(?:flags|marks|labels|tags|moves|closes|resolves|cancels|merges|signs)\b"
    r"|^[\w.-]+(?:\s+[\w.-]+){0,2}\s+(?:priority|status|stage|state|label)\s*(?:=|==|is|changes to|becomes)\s*['\"]?[\w-]+['\"]?\s*(?:->|→|=>|:)"
    r"|^(?:每次|每当)?(?!把|将|让|用|请|帮|给|每)[^,，。；;:：]{1,24}?(?:被)?(?:改成|改为|变成|变为|更新为|更新成|设为|标记为|合并|签完|签署完成|取消|关闭|完成|通过|添加|新增|打上|驳回|拒绝|退款|发货|签收)"
    r"[^,，。；;:：]{0,12}?(?:的?时候|时(?![间效])|之后|以后|后)(?=[,，\s]|$)")

# the event a state change names ("labelled", "合并"): its English past participle
STATE_EVENT_ZH = {"合并": "merged", "签完": "signed", "签署完成": "signed", "取消": "cancelled", "关闭": "closed", "完成": "completed",
                  "通过": "approved", "驳回": "rejected", "拒绝": "rejected", "退款": "refunded", "发货": "shipped",
                  "签收": "delivered", "打上": "labelled"}


def state_event(matched: str) -> str | None:
    """The state a STATE_EVENT match names ("when a github issue is labelled bug" → "labelled"), or None
    for a plain change ("status changes to", "改成")."""
    found = re.search(r"\b(" + _STATES_EN + r")\b", matched)
    if found:
        word = found.group(1)
        return None if word in ("changes", "changed", "updated", "set") else "labelled" if "label" in word else \
            "tagged" if "tag" in word else word
    return next((en for zh, en in STATE_EVENT_ZH.items() if zh in matched), None)


# "…, both at the same time", "两个同时做": the writes of the clause before run side by side
BOTH_AT_ONCE = compile_filtered(r"(?:both|all)?\s*(?:at the same time|in parallel|simultaneously)\s*[.!]?\s*$|(?:两个|都)?同时(?:进行|做)?$")

# How a state change names the value a branch tests: "labelled bug" → the label is bug, "status
# changes to Done", "gets the tag 'cancel'", "priority = Highest", "状态被改成已完成" (conditions.comparison).
STATE_VALUE = (
    (ascii_re(r"\b(?:(?:it|it's|it is|is|was|gets?|has been)\s+)?(?P<f>labell?ed|tagged)\s+(?:as\s+|with\s+)?(?:the\s+|a\s+)?['\"]?(?P<v>[\w-]+)['\"]?(?:\s+(?:label|tag))?(?:\s+instead)?"), ""),
    (ascii_re(r"\bgets?\s+(?:the\s+|a\s+)?(?P<f>tag|label|status|priority)\s+['\"]?(?P<v>[\w-]+)['\"]?"), ""),
    (ascii_re(r"\b(?P<f>status|stage|priority|state|label|tag)\s+(?:changes|changed|is changed|moves|is moved|is set|was set|becomes)\s+to\s+['\"]?(?P<v>[\w-]+(?: [\w-]+)?)['\"]?(?=$|[,.;]|\s+(?:instead|in|on)\b)"), ""),
    (ascii_re(r"\b(?:it\s+)?(?P<f>changes|moves|is moved|is changed)\s+to\s+['\"]?(?P<v>[\w-]+)['\"]?(?:\s+instead)?(?=$|[,.;])"), "status"),
    (ascii_re(r"\b(?P<f>priority|status|stage|state|label)\s*(?:=|==)\s*['\"]?(?P<v>[\w-]+)['\"]?"), ""),
    # "if the requester is on the Enterprise plan": the plan or tier a customer is on
    (ascii_re(r"\b(?:is|are|'s)\s+on\s+(?:the|a|an|our)\s+['\"]?(?P<v>[\w-]+)['\"]?\s+(?P<f>plan|tier|subscription)\b"), ""),
    # "如果评论的人是我们的金卡会员": the membership level
    (compile_filtered(r"是(?:我们的?|本店的?|店里的?)?(?P<v>[\u4e00-\u9fffa-z0-9]{1,4}?)(?P<f>会员|客户|用户)(?=$|[,，。；;]|的话)"), "会员等级"),
    # "if they picked 'Workshop'": the option chosen on a form
    (ascii_re(r"\b(?:they|he|she|you|someone|the (?:user|customer|guest|attendee|respondent))\s+(?P<f>picked|picks|chose|chooses|selected|selects)\s+['\"](?P<v>[\w -]{1,24}?)['\"]"), "choice"),
    (compile_filtered(r"(?P<f>状态|优先级|阶段|标签|等级)(?:被)?(?:改成|改为|变成|变为|更新为|更新成|设为|设置为)\s*[\"'“「]?(?P<v>[\w\u4e00-\u9fff-]+?)[\"'”」]?(?=\s*(?:时|后|的|$|[,，。;；]))"), ""),
)
STATE_FIELDS = {"labeled": "label", "labelled": "label", "tagged": "tag", "状态": "状态", "优先级": "优先级", "阶段": "阶段",
                "标签": "标签", "等级": "等级"}


def state_value(text: str) -> tuple[str, str, re.Match[str]] | None:
    """(field, value, match) of a state change's value in a text ("labelled bug" → ("label", "bug")), else None."""
    for rx, field in STATE_VALUE:
        m = rx.search(text)
        if m and not (m.group("f") in STATE_FIELDS and re.search(r"[把将]", text[: m.start()])):  # "把阶段改成…" sets it
            name = field or STATE_FIELDS.get(m.group("f"), m.group("f"))
            return name, m.group("v").strip(), m
    return None


SETS_TO = ascii_re(r"\bsets?\s+(?:the\s+)?(?P<field>[a-z_]+)\s+(?:to|as)\s+[\"']?(?P<val>[\w-]+)")
# "公司规模选的是100人以上", "if they picked 'Enterprise' as plan": a form answer equals a choice
CHOSE = ascii_re(r"(?P<field>[\u4e00-\u9fffa-z_]{1,12}?)(?:一栏|这一项|那一项|这项)?(?:选的是|选择的是|选了|选择了|填的是|勾选了|勾的是)"
                 r"[\"']?(?P<val>[^，,。；;\"']{1,20}?)[\"']?(?=$|[，,。；;]|的(?:话|时候)?$)")
GENERIC_TARGET = ascii_re(r"\b(?:to|on|in|into) (?:the |our |a |their |my )?(?P<t>[\w' -]{2,30}?)(?:'s)? (?:rest )?(?:api|endpoint|system|queue|inbox|backend|blog|website|board|database|wiki|portal|classroom)\b"
                          r"|(?:写入|写到|写进|存到|存入|同步到|推送到|更新到|录入|记到|提交到)(?:我们的|公司的)?(?P<t2>[\u4e00-\u9fffa-z0-9]{2,12}?(?:系统|平台|表|库|后台|中心|看板))"
                          # "在旺店通里创建一个售后单", "在金蝶里录入一张凭证": a record made in an app the lexicon does not know
                          r"|在(?P<t3>(?!我们|公司|这|那|群|表)[\u4e00-\u9fffa-z0-9]{2,8}?)(?:里面|里|中|上)(?:创建|新建|建|录入|添加|新增|提交|开)(?:一个|一条|一张|一笔|个|条|张|笔)?"
                          r"[\u4e00-\u9fffa-z]{0,6}?(?:单据|单|记录|任务|凭证|申请|卡片|条目)"
                          # "把订单POST到美国仓的接口", "推到欧洲仓的接口": the team's own system, by its API
                          r"|(?:post|推|推送|发送?|同步|提交|传)到(?P<t4>(?!我们|公司)[\u4e00-\u9fffa-z0-9]{2,10}?)的?(?:接口|api)")
OWN_OBJECT = ascii_re(r"\b(?:to|on) (?:the|this|that) (?:issue|pr|pull request|ticket|order|deal|contact|card|task|tweet|post|review)\b|\bset (?:the|this|that|its) (?:row|record|issue|ticket|card|page|deal|order)'s\b|\bas an? (?:internal |private )?(?:note|comment)\b"
                      r"|\b(?:back )?(?:into|to) (?:the|this|that|its|their) (?:same |original )?(?:row|record|entry)\b"
                      r"|(?:回写|写回|填回|回填|填到|更新|发回|评论|回复|comment)(?:到|在)?(?:这一?行|这条记录|原记录|(?:这个|那条|该|这条)?\s*(?:issue|pr|mr|消息|thread)\s*(?:下面|下|里)?)"
                      r"|(?<![a-z])(?:mr|pr|issue)\s*下面|\breply in the thread\b|\blike (?:the|this|that) (?:tweet|post)\b|^(?:自动)?给(?:他|她|对方)发")
# how soon, never where: "gets logged right away"
WHEN_WORDS = ascii_re(r"\b(?:right away|straight away|immediately|instantly|at once|directly|automatically|at the same time|simultaneously|in parallel)\b")
STYLE_OF = r"(?:\s*(?:风格|文案|式的|体的|笔记风|长文|短文|笔记|帖子|推文|版本|爆款|短视频脚本|视频脚本|脚本|style|-style|tone|风)|\s+(?:post|article|caption|thread|tweet|review|rating)\b)"
CONTENT_OF = r"\s+(?:sprint|summary|digest|report|stats|numbers)\b"  # "their own Jira sprint summary": what is sent
LINK_OF = r"(?:(?:\s+[\w-]+){0,2}\s+(?:link|url)\b|(?:的)?\s*(?:文章|页面|文档|笔记|表格)?(?:的)?(?:链接|地址))"
ANTONYMS = (("成功", "失败"), ("通过", "驳回"), ("通过", "拒绝"), ("是", "不是"), ("有", "没有"), ("会", "不会"),
            ("success", "failure"), ("succeeds", "fails"), ("approved", "rejected"), ("yes", "no"), ("paid", "unpaid"))
PURE_LIST = compile_filtered(r"^[\w\u4e00-\u9fff -]{1,12}(?:[、,/][\w\u4e00-\u9fff -]{1,12}){1,7}$")
IGNORE = ascii_re(r"\b(?:ignored?|skip(?:ped)?|do nothing|left alone|can be dropped(?! (?:in|into|to|on)\b)|leave it(?! (?:in|on)\b)|drop it(?! (?:in|into|to|on)\b)|needs? nothing|nothing needed|no action)\b|^nothing\b|不用管|忽略|跳过|不处理|不管|无需处理|不理|不用理|不予理会|不用回|不回复|不用处理|不做处理|丢掉|丢弃")
CMP_LEAD = ascii_re(r"^(?:at least|at most|more than|less than|fewer than|lower than|higher than|greater than|bigger than|smaller than|over|under|above|below|no more than)\s+[$€£¥]?\d[\d,.]*\s*(?:%|[a-z]*)\s*(?::|->|→|,|(?=(?:needs?|requires?|must|gets?)\s))")
LOWER_ELSE = ascii_re(r"^(?:if\s+)?(?:it'?s|it is|they are|the score is)\s+(?:lower|less|below|under|not|anything else|otherwise)\b")
COLON_CASE = ascii_re(r"^(?P<label>[\w'\"\- /$€£¥.,]{1,25}?)(?:\s*\([^()]{1,60}\))?\s*:(?:\s+|(?=[\u4e00-\u9fff]))(?P<action>.+)$")  # "critical：调用…" has no space
SWITCH_ON = ascii_re(r"\b(?:route|routes|switch|branch|split|sort)\w*\s+(?:it\s+|them\s+)?(?:on|by)\s+(?:the\s+|their\s+)?(?P<f>[a-z ]{2,25}?)(?=\s*(?:[.:,;]|$|field\b))"
                     r"|\b(?:depending on|based on)\s+(?:the\s+|their\s+)?(?P<f2>[a-z ]{2,25}?)(?=\s*(?:[.:,;—-]|$|field\b))"
                     r"|\blook at the\s+(?P<f3>[a-z ]{2,25}?)(?=\s*:)|\bhas an? (?P<f4>[a-z ]{2,20}?) dropdown\b")


# "text the foreman", "send them a welcome text": SMS named by the verb "text" or by "a … text".
# Rewritten to "sms" so the service lexicon sees it; "this text" / "the text below" stay nouns.
# "text me a briefing on Telegram": the chat app carries the text, it is not an SMS
_ON_A_CHAT_APP = (r"(?![^,.;]*\b(?:on|via|through|over|in|with|using)\s+(?:telegram|whatsapp|signal|slack|discord|wechat|line|imessage|"
                  r"teams|messenger|viber|kakaotalk)\b)")
_TEXT_VERB = ascii_re(r"(^|[,;:>→]\s*|\b(?:and|then|also|just|please|to|will|should|or|we|i)\s+|\d(?:\s*(?:am|pm))?\s+)text(?![^,.;]*\b(?:sms|text message)\b)" + _ON_A_CHAT_APP + r"(?=\s+(?:me|us|him|her|them|the|our|my|their|each|every|all|everyone|customers?|users?|drivers?|staff|[a-z0-9._%+-]+@)\b)")
_TEXT_NOUN = ascii_re(r"\b((?:send|sends|sending|get|gets)\s+(?:[\w']+\s+){0,2}?(?:a|an)\s+(?:[\w-]+\s+)?)text\b(?!\s+(?:message|file|box|field|version|of|from|summary))"
                      + _ON_A_CHAT_APP)


# "their latest posts on X", "a thread on X", "X posts": X is Twitter only in these frames ("3 x 5" is not).
_X_NAMED = ascii_re(r"\b(?:on|to|from|onto|via) x\b(?!\s*[-=*×\d])|\bx(?= (?:posts?|threads?|accounts?|profiles?|feeds?|handles?)\b)")


_TYPOS = {"chek": "check", "cheack": "check", "summerize": "summarize", "sumarize": "summarize", "recieve": "receive",
          "emial": "email", "mesage": "message", "messsage": "message", "notifiy": "notify", "scrap": "scrape",
          "teh": "the", "evry": "every", "everyday": "every day", "tommorow": "tomorrow", "msg": "message",
          "wen": "when", "whn": "when", "evrytime": "every time", "someone's": "someone",
          "wanna": "want to", "gonna": "going to", "gotta": "have to", "pls": "please", "plz": "please"}
_TYPO_RE = ascii_re(r"\b(?:" + "|".join(_TYPOS) + r")\b")


def service_words(text: str) -> str:
    """``text`` with spoken names of services written as the lexicon knows them: "text the
    foreman" / "a welcome text" → "sms" (see :data:`_TEXT_VERB`), "posts on X" → "twitter"."""
    text = _TYPO_RE.sub(lambda m: _TYPOS[m.group(0)], text)  # "chek the BTC price": the verb it means
    text = _X_NAMED.sub(lambda m: m.group(0)[:-1] + "twitter", text)
    return _TEXT_NOUN.sub(r"\1sms", _TEXT_VERB.sub(r"\1sms", text))

# "if they're already a contact", "如果客户已存在": a lookup's answer (compiled to "the lookup found something")
EXISTS = ascii_re(r"\balready (?:an? \w+|in (?:the |our )?\w+|exists?|registered|subscribed|on (?:the |our )?\w+)\b|\b(?:exists?|is found|are found)\b|"
                  r"\bthere(?:'s| is) (?:a|an) (?:match|existing)\b|已(?:经)?(?:存在|是(?:我们的)?(?:客户|会员|联系人)|注册)|查到了|能查到|找到了")

# "看一下淘宝店有没有新的差评，有的话就…", "check whether there are any new failed payments; if so …"
ANY_NEW = ascii_re(r"有没有|是否有|有无|\bwhether there (?:are|is) (?:any )?|\bif there (?:are|is) any\b|\bany new\b")


def arrow_chain(text: str) -> str:
    """"every friday 4pm -> quickbooks overdue invoices -> AI summary -> slack #finance": arrows that
    follow one another with no comma between them are a pipeline ("then"), not "label → action" cases."""
    out = []
    for sentence in re.split(r"(?<=[.。!?！？\n])", text):
        parts = re.split(r"\s*(?:->|→|=>)\s*", sentence)
        # commas inside brackets ("a triage summary (area, severity, duplicates)") do not make a case list
        chained = len(parts) >= 3 and any(not re.search(r"[,;，；]", re.sub(r"\([^)]*\)|（[^）]*）", "", p)) for p in parts[1:-1])
        out.append(", then ".join(parts) if chained else sentence)
    return "".join(out)
