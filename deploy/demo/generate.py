"""Write catalog.json, the demo key-strategic-technology list (see README.md beside it).

Deterministic: no randomness, no clock. Technology names, kinds and descriptions are
invented but plausible, except the three items Japan restricted in July 2019. Codes are
``<INDUSTRY>-<NNN>``, numbered per industry in the order the technologies were first listed,
so a retired code is never reused. Run with ``uv run python deploy/demo/generate.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, NamedTuple

Kind = Literal["material", "part", "equipment"]
M: Kind = "material"
P: Kind = "part"
E: Kind = "equipment"

OUTPUT = Path(__file__).with_name("catalog.json")


class Tech(NamedTuple):
    """A technology as first listed; `retired_next` means the following revision retires it."""

    kind: Kind
    name_en: str
    name_ko: str
    description: str
    retired_next: bool = False


class Revision(NamedTuple):
    """A revision of the list: its dates and the technologies it adds, per industry."""

    title: str
    decided_on: str
    effective_on: str
    added: dict[str, tuple[Tech, ...]]


INDUSTRIES: tuple[tuple[str, str, str], ...] = (
    ("SEMI", "Semiconductors", "반도체"),
    ("DISP", "Display", "디스플레이"),
    ("AUTO", "Automotive", "자동차"),
    ("MACH", "Machinery & Metals", "기계금속"),
    ("ELEC", "Electrical & Electronics", "전기전자"),
    ("CHEM", "Basic Chemicals", "기초화학"),
    ("BIO", "Bio", "바이오"),
    ("AERO", "Space & Aviation", "우주항공"),
    ("DEF", "Defense", "방산"),
    ("H2", "Hydrogen", "수소"),
)

# The 2020 list: 100 technologies in six industries (17, 10, 13, 38, 18, 4; no bio).
LIST_2020: dict[str, tuple[Tech, ...]] = {
    "SEMI": (
        Tech(
            M,
            "Photoresist",
            "포토레지스트",
            "Light-sensitive resin that transfers circuit patterns onto wafers in lithography.",
        ),
        Tech(
            M,
            "High-purity hydrogen fluoride",
            "고순도 불화수소",
            "Ultra-high-purity HF gas and solution used to etch and clean wafers.",
        ),
        Tech(
            M,
            "EUV blank mask",
            "EUV 블랭크 마스크",
            "Reflective multilayer mask blank for extreme-ultraviolet lithography.",
        ),
        Tech(
            P,
            "EUV pellicle",
            "EUV 펠리클",
            "Thin membrane that shields EUV photomasks from particles during exposure.",
        ),
        Tech(
            M,
            "300 mm prime silicon wafer",
            "300mm 프라임 실리콘 웨이퍼",
            "Polished single-crystal silicon wafer for leading-edge logic and memory fabs.",
        ),
        Tech(
            M,
            "CMP slurry",
            "CMP 슬러리",
            "Abrasive slurry for chemical-mechanical planarization of wafer layers.",
        ),
        Tech(
            M,
            "High-k dielectric precursor",
            "고유전율(High-k) 전구체",
            "Metal-organic precursor for depositing high-k gate and capacitor dielectrics.",
        ),
        Tech(
            M,
            "Ultra-high-purity nitrogen trifluoride",
            "초고순도 삼불화질소(NF3)",
            "Specialty gas for cleaning deposition chambers and etching silicon.",
        ),
        Tech(
            E,
            "Atomic layer deposition equipment",
            "원자층 증착(ALD) 장비",
            "Deposits conformal films one atomic layer at a time on 3D device structures.",
        ),
        Tech(
            E,
            "Plasma dry etching equipment",
            "플라즈마 건식 식각 장비",
            "Etches high-aspect-ratio patterns with reactive plasma.",
        ),
        Tech(
            E,
            "Wafer inspection and metrology system",
            "웨이퍼 검사·계측 장비",
            "Finds defects and measures critical dimensions and overlay on patterned wafers.",
        ),
        Tech(
            P,
            "Electrostatic chuck",
            "정전척",
            "Ceramic chuck that clamps and heats wafers electrostatically in process chambers.",
        ),
        Tech(
            P,
            "Silicon carbide focus ring",
            "SiC 포커스 링",
            "Consumable SiC ring that shapes the plasma at the wafer edge in etch chambers.",
        ),
        Tech(
            E,
            "Ion implantation equipment",
            "이온 주입 장비",
            "Implants dopant ions into wafers with precise dose and energy control.",
        ),
        Tech(
            P,
            "Probe card for memory test",
            "메모리 테스트용 프로브 카드",
            "Contacts thousands of pads at once to test memory dies at wafer level.",
        ),
        Tech(
            E,
            "Batch wet cleaning equipment for 200 mm wafers",
            "200mm 웨이퍼용 배치식 습식 세정 장비",
            "Immersion cleaning benches for mature 200 mm wafer lines.",
            retired_next=True,
        ),
        Tech(
            M,
            "Gold bonding wire for packaging",
            "패키징용 금 본딩 와이어",
            "Fine gold wire connecting dies to lead frames in conventional packages.",
            retired_next=True,
        ),
    ),
    "DISP": (
        Tech(
            M,
            "Fluorinated polyimide",
            "불화 폴리이미드",
            "Colourless fluorinated polyimide film for flexible and foldable OLED panels.",
        ),
        Tech(
            M,
            "OLED emitting-layer material",
            "OLED 발광층 소재",
            "Host and dopant compounds that emit red, green and blue light in OLED pixels.",
        ),
        Tech(
            M,
            "OLED thin-film encapsulation material",
            "OLED 박막 봉지 소재",
            "Inorganic and organic layers that seal OLED panels against moisture and oxygen.",
        ),
        Tech(
            P,
            "Fine metal mask",
            "파인 메탈 마스크(FMM)",
            "Thin Invar shadow mask that patterns sub-pixels during OLED evaporation.",
        ),
        Tech(
            E,
            "OLED vacuum evaporation system",
            "OLED 진공 증착 장비",
            "Evaporates organic materials through fine metal masks onto large substrates.",
        ),
        Tech(
            E,
            "Laser lift-off equipment",
            "레이저 리프트오프(LLO) 장비",
            "Separates flexible polyimide panels from their glass carrier by laser.",
        ),
        Tech(
            M,
            "Ultra-thin glass for foldable cover windows",
            "폴더블 커버 윈도우용 초박막 유리(UTG)",
            "Chemically strengthened glass thinner than 50 µm that survives repeated folding.",
        ),
        Tech(
            M,
            "Circular polarizer film for OLED",
            "OLED용 원편광 필름",
            "Film that suppresses ambient-light reflection on OLED panels.",
        ),
        Tech(
            M,
            "LCD colour resist",
            "LCD 컬러 레지스트",
            "Pigmented photoresist for LCD colour filters.",
            retired_next=True,
        ),
        Tech(
            P,
            "LCD backlight light-guide plate",
            "LCD 백라이트 도광판",
            "Acrylic plate spreading edge-lit LED light evenly across LCD panels.",
            retired_next=True,
        ),
    ),
    "AUTO": (
        Tech(
            P,
            "EV traction motor",
            "전기차 구동모터",
            "High-efficiency permanent-magnet motor driving electric vehicles.",
        ),
        Tech(
            P,
            "EV inverter power module",
            "전기차 인버터 전력모듈",
            "Power module converting battery DC into three-phase AC for the traction motor.",
        ),
        Tech(
            P,
            "EV battery management system",
            "전기차 배터리 관리 시스템(BMS)",
            "Monitors and balances cells and estimates the state of charge of EV packs.",
        ),
        Tech(
            P,
            "Automotive radar sensor",
            "차량용 레이더 센서",
            "77 GHz radar detecting the range and speed of surrounding objects.",
        ),
        Tech(
            P,
            "Automotive LiDAR",
            "차량용 라이다",
            "Laser scanner producing 3D point clouds for driver assistance and autonomy.",
        ),
        Tech(
            P,
            "Electronic brake system",
            "전자식 브레이크 시스템",
            "Brake-by-wire unit integrating ABS, ESC and regenerative braking control.",
        ),
        Tech(
            P,
            "Steer-by-wire system",
            "스티어 바이 와이어 시스템",
            "Steering without a mechanical column, controlled by redundant actuators.",
        ),
        Tech(
            P,
            "EV heat-pump thermal management system",
            "전기차 히트펌프 열관리 시스템",
            "Heat pump managing cabin, battery and drivetrain temperatures in EVs.",
        ),
        Tech(
            M,
            "Carbon-fibre-reinforced plastic for vehicle bodies",
            "차체용 탄소섬유강화플라스틱(CFRP)",
            "Lightweight composite for body panels and structural vehicle parts.",
        ),
        Tech(
            P,
            "On-board charger",
            "차량 탑재형 충전기(OBC)",
            "Converts grid AC into DC to charge the EV battery.",
        ),
        Tech(
            P,
            "Diesel common-rail injector",
            "디젤 커먼레일 인젝터",
            "High-pressure fuel injector for diesel engines.",
            retired_next=True,
        ),
        Tech(
            P,
            "Automatic transmission valve body",
            "자동변속기 밸브바디",
            "Hydraulic control unit that shifts gears in automatic transmissions.",
            retired_next=True,
        ),
        Tech(
            P,
            "Turbocharger for gasoline engines",
            "가솔린 엔진용 터보차저",
            "Exhaust-driven compressor boosting downsized gasoline engines.",
            retired_next=True,
        ),
    ),
    "MACH": (
        Tech(
            P,
            "Precision reducer for industrial robots",
            "산업용 로봇 정밀 감속기",
            "Low-backlash cycloidal reducer for robot joints.",
        ),
        Tech(
            P,
            "Servo motor for industrial robots",
            "산업용 로봇 서보모터",
            "High-response servo motor with encoder for robot axes.",
        ),
        Tech(
            P,
            "Industrial robot controller",
            "산업용 로봇 제어기",
            "Motion controller coordinating multi-axis industrial robots.",
        ),
        Tech(
            P,
            "CNC controller for machine tools",
            "공작기계용 CNC 제어기",
            "Numerical controller that runs the axes and spindle of machine tools.",
        ),
        Tech(
            P,
            "High-speed machine-tool spindle",
            "공작기계용 고속 주축",
            "Built-in motor spindle for high-speed precision machining.",
        ),
        Tech(
            P,
            "Precision ball screw",
            "정밀 볼스크류",
            "Ground ball screw converting rotation into precise linear motion.",
        ),
        Tech(
            P,
            "Linear motion guide",
            "리니어 모션 가이드",
            "Rail and carriage guiding machine axes with high rigidity.",
        ),
        Tech(
            P,
            "Super-precision angular contact bearing",
            "초정밀 앵귤러 베어링",
            "High-speed bearing for machine-tool spindles.",
        ),
        Tech(
            P,
            "Hydraulic piston pump for construction machinery",
            "건설기계용 유압 피스톤 펌프",
            "Variable-displacement pump powering excavator hydraulics.",
        ),
        Tech(
            P,
            "Main control valve for excavators",
            "굴삭기용 메인 컨트롤 밸브(MCV)",
            "Valve block distributing hydraulic flow to excavator actuators.",
        ),
        Tech(
            P,
            "Hydraulic travel motor",
            "유압 주행 모터",
            "Compact motor and reduction unit driving tracked construction machinery.",
        ),
        Tech(
            M,
            "Nickel-based superalloy",
            "니켈기 초내열합금",
            "Alloy keeping its strength above 700 °C for turbines and furnaces.",
        ),
        Tech(
            M,
            "High-strength titanium alloy bar",
            "고강도 티타늄 합금 봉재",
            "Titanium alloy bar for lightweight, corrosion-resistant components.",
        ),
        Tech(
            M,
            "Rare-earth permanent magnet (NdFeB)",
            "희토류 영구자석(NdFeB)",
            "Sintered neodymium-iron-boron magnet for motors and actuators.",
        ),
        Tech(
            M,
            "Ultra-high-strength steel sheet",
            "초고강도 강판",
            "Advanced high-strength steel above 1 GPa for lightweight structures.",
        ),
        Tech(
            M,
            "Magnesium alloy sheet",
            "마그네슘 합금 판재",
            "Rolled magnesium alloy sheet for lightweight housings and panels.",
        ),
        Tech(
            M,
            "High-strength aluminium alloy extrusion",
            "고강도 알루미늄 합금 압출재",
            "7000-series aluminium profiles for structural frames.",
        ),
        Tech(
            M,
            "Cemented carbide for cutting tools",
            "절삭공구용 초경합금",
            "Tungsten-carbide cobalt composite for cutting inserts and drills.",
        ),
        Tech(
            M,
            "Metal powder for additive manufacturing",
            "금속 적층제조용 분말",
            "Gas-atomized spherical alloy powder for metal 3D printing.",
        ),
        Tech(
            E,
            "Metal 3D printer (powder bed fusion)",
            "금속 3D 프린터(PBF)",
            "Laser powder-bed-fusion machine building dense metal parts layer by layer.",
        ),
        Tech(
            M,
            "Non-oriented electrical steel",
            "무방향성 전기강판",
            "Low-core-loss silicon steel for motor and generator cores.",
        ),
        Tech(
            M,
            "High-strength copper alloy strip for connectors",
            "커넥터용 고강도 동합금 판재",
            "Conductive, spring-hard copper alloy strip for terminals and connectors.",
        ),
        Tech(
            M,
            "Ultra-clean stainless steel tubing",
            "초청정 스테인리스 강관",
            "Electropolished tubing for high-purity process gas lines.",
        ),
        Tech(
            P,
            "Mechanical seal for process pumps",
            "공정 펌프용 메카니컬 실",
            "Rotating shaft seal for pumps handling hazardous or hot fluids.",
        ),
        Tech(
            P,
            "Gas turbine hot-section blade",
            "가스터빈 고온부 블레이드",
            "Cooled single-crystal blade for power-generation gas turbines.",
        ),
        Tech(
            P,
            "Wind turbine gearbox",
            "풍력발전기 증속기",
            "Multi-stage gearbox raising rotor speed for the generator.",
        ),
        Tech(
            E,
            "Precision injection moulding machine",
            "정밀 사출성형기",
            "Electric injection moulding machine for precision plastic parts.",
        ),
        Tech(
            E,
            "Five-axis machining centre",
            "5축 머시닝센터",
            "Simultaneous five-axis machine for complex precision parts.",
        ),
        Tech(
            E,
            "Precision laser processing system",
            "정밀 레이저 가공기",
            "Ultrashort-pulse laser system for cutting, drilling and marking.",
        ),
        Tech(
            P,
            "Machine vision camera for factory automation",
            "공장자동화용 머신비전 카메라",
            "Industrial camera for inline inspection and robot guidance.",
        ),
        Tech(
            P,
            "Precision pneumatic actuator",
            "정밀 공압 액추에이터",
            "Compact pneumatic cylinder and valve unit for automation lines.",
        ),
        Tech(
            P,
            "Cryogenic valve for LNG carriers",
            "LNG선용 극저온 밸브",
            "Valve operating at −163 °C in LNG cargo and fuel systems.",
        ),
        Tech(
            M,
            "High-manganese steel for cryogenic tanks",
            "극저온용 고망간강",
            "Austenitic manganese steel for LNG storage and fuel tanks.",
        ),
        Tech(
            P,
            "Marine dual-fuel engine fuel supply system",
            "선박용 이중연료 엔진 연료공급 시스템",
            "High-pressure gas supply for ships burning LNG and diesel.",
        ),
        Tech(
            P,
            "General-purpose hydraulic cylinder",
            "범용 유압 실린더",
            "Standard double-acting cylinder for industrial hydraulics.",
            retired_next=True,
        ),
        Tech(
            M,
            "Carbon steel forging for general machinery",
            "일반기계용 탄소강 단조품",
            "Forged shafts and flanges in plain carbon steel.",
            retired_next=True,
        ),
        Tech(
            E,
            "Three-axis vertical machining centre",
            "3축 수직형 머시닝센터",
            "General-purpose vertical machining centre.",
            retired_next=True,
        ),
        Tech(
            P,
            "Standard roller chain",
            "표준 롤러 체인",
            "Roller chain for conveyors and power transmission.",
            retired_next=True,
        ),
    ),
    "ELEC": (
        Tech(
            M,
            "High-nickel cathode material",
            "하이니켈 양극재",
            "NCM or NCA cathode with over 80 % nickel for high-energy battery cells.",
        ),
        Tech(
            M,
            "Silicon-carbon anode material",
            "실리콘-탄소 음극재",
            "Silicon-graphite composite anode raising cell energy density.",
        ),
        Tech(
            M,
            "Ceramic-coated battery separator",
            "세라믹 코팅 분리막",
            "Porous polyolefin film with a ceramic coat for thermal safety.",
        ),
        Tech(
            M,
            "Lithium hexafluorophosphate electrolyte salt",
            "육불화인산리튬(LiPF6) 전해질염",
            "Conducting salt of lithium-ion battery electrolytes.",
        ),
        Tech(
            M,
            "Electrolytic copper foil for batteries",
            "이차전지용 전해동박",
            "Thin copper foil serving as the anode current collector.",
        ),
        Tech(
            P,
            "High-reliability multilayer ceramic capacitor",
            "고신뢰성 적층세라믹콘덴서(MLCC)",
            "MLCC rated for automotive and industrial temperature and voltage.",
        ),
        Tech(
            M,
            "Barium titanate dielectric powder for MLCC",
            "MLCC용 티탄산바륨 유전체 분말",
            "Nano-sized dielectric powder for thin MLCC layers.",
        ),
        Tech(
            P,
            "RF filter (SAW/BAW)",
            "RF 필터(SAW/BAW)",
            "Acoustic-wave filter selecting frequency bands in mobile devices.",
        ),
        Tech(
            P,
            "Rigid-flex printed circuit board",
            "경연성 인쇄회로기판",
            "Board combining rigid and flexible layers for compact devices.",
        ),
        Tech(
            P,
            "Power inductor",
            "파워 인덕터",
            "Metal-composite inductor for power supply circuits.",
        ),
        Tech(
            P,
            "Optical image stabilizer actuator",
            "카메라 모듈 손떨림 보정(OIS) 액추에이터",
            "Actuator compensating hand shake in smartphone camera modules.",
        ),
        Tech(
            P,
            "HVDC power cable",
            "초고압직류(HVDC) 케이블",
            "Extruded cable carrying high-voltage DC power over long distances.",
        ),
        Tech(
            P,
            "Power conditioning system for energy storage",
            "ESS용 전력변환장치(PCS)",
            "Bidirectional converter linking battery storage to the grid.",
        ),
        Tech(
            P,
            "5G mmWave antenna module",
            "5G 밀리미터파 안테나 모듈",
            "Phased-array antenna-in-package for 28 GHz links.",
        ),
        Tech(
            P,
            "Board-to-board precision connector",
            "보드 대 보드 정밀 커넥터",
            "Fine-pitch connector joining circuit boards in mobile devices.",
        ),
        Tech(
            M,
            "Soft magnetic powder core",
            "연자성 분말 코어",
            "Low-loss magnetic core for inductors and power converters.",
        ),
        Tech(
            P,
            "Nickel-metal hydride battery electrode",
            "니켈수소전지 전극",
            "Electrode for NiMH cells.",
            retired_next=True,
        ),
        Tech(
            P,
            "General-purpose aluminium electrolytic capacitor",
            "범용 알루미늄 전해 커패시터",
            "Standard electrolytic capacitor for consumer electronics.",
            retired_next=True,
        ),
    ),
    "CHEM": (
        Tech(
            M,
            "High-strength PAN-based carbon fibre",
            "고강도 PAN계 탄소섬유",
            "Carbon fibre spun from polyacrylonitrile for structural composites.",
        ),
        Tech(
            M,
            "Para-aramid fibre",
            "파라계 아라미드 섬유",
            "Heat-resistant, high-tenacity fibre for protective and reinforcing uses.",
        ),
        Tech(
            M,
            "Polyphenylene sulfide resin",
            "폴리페닐렌설파이드(PPS) 수지",
            "Heat- and chemical-resistant engineering plastic.",
        ),
        Tech(
            M,
            "Liquid crystal polymer resin",
            "액정폴리머(LCP) 수지",
            "Low-loss resin for high-frequency connectors and antenna films.",
        ),
    ),
}

ADDED_2022: dict[str, tuple[Tech, ...]] = {
    "SEMI": (
        Tech(
            M,
            "Sputtering target for advanced interconnects",
            "첨단 배선용 스퍼터링 타깃",
            "High-purity copper, cobalt and tantalum targets for interconnect films.",
        ),
        Tech(
            M,
            "Epoxy molding compound for advanced packaging",
            "첨단 패키징용 에폭시 몰딩 컴파운드",
            "Low-warpage compound encapsulating fan-out and stacked packages.",
        ),
        Tech(
            M,
            "SiC power semiconductor wafer",
            "SiC 전력반도체 웨이퍼",
            "Silicon carbide substrate for high-voltage power devices.",
        ),
        Tech(
            M,
            "GaN-on-Si epitaxial wafer",
            "GaN-on-Si 에피 웨이퍼",
            "Gallium nitride layers grown on silicon for power and RF devices.",
        ),
        Tech(
            M,
            "Metal-oxide EUV photoresist",
            "금속산화물 EUV 포토레지스트",
            "Inorganic resist with high EUV absorption for fine patterning.",
        ),
        Tech(
            M,
            "Spin-on hardmask",
            "스핀온 하드마스크(SOH)",
            "Carbon-rich coating that transfers patterns into underlying layers.",
        ),
        Tech(
            M,
            "Low-k dielectric precursor",
            "저유전율(Low-k) 전구체",
            "Precursor for porous low-k insulating films between interconnects.",
        ),
        Tech(
            E,
            "Wafer hybrid bonding equipment",
            "웨이퍼 하이브리드 본딩 장비",
            "Bonds wafers copper-to-copper without bumps for 3D integration.",
        ),
        Tech(
            E,
            "Single-wafer wet cleaning equipment",
            "매엽식 습식 세정 장비",
            "Cleans one 300 mm wafer at a time with chemical sprays.",
        ),
        Tech(
            E,
            "Photoresist coater and developer track",
            "포토레지스트 도포·현상 트랙 장비",
            "Coats, bakes and develops resist linked to a lithography scanner.",
        ),
        Tech(
            E,
            "EUV mask inspection system",
            "EUV 마스크 검사 장비",
            "Detects defects on EUV masks and blanks.",
        ),
        Tech(
            P,
            "CVD showerhead",
            "CVD 샤워헤드",
            "Gas distribution plate giving uniform deposition across the wafer.",
        ),
        Tech(
            P,
            "FC-BGA package substrate",
            "FC-BGA 패키지 기판",
            "Multilayer build-up substrate for high-performance processors.",
        ),
        Tech(
            M,
            "TSV copper electroplating solution",
            "TSV 구리 도금액",
            "Plating chemistry filling through-silicon vias without voids.",
        ),
        Tech(
            E,
            "Memory test handler",
            "메모리 테스트 핸들러",
            "Moves and temperature-conditions packaged memory during final test.",
        ),
        Tech(
            P,
            "Automotive power semiconductor module",
            "차량용 전력반도체 모듈",
            "Packaged SiC or IGBT switches for vehicle power electronics.",
        ),
        Tech(
            M,
            "ArF photomask blank",
            "ArF 포토마스크 블랭크",
            "Chrome-on-quartz blank for ArF immersion photomasks.",
        ),
    ),
    "DISP": (
        Tech(
            M,
            "Quantum-dot colour conversion material",
            "양자점 색변환 소재",
            "Cadmium-free quantum dots converting blue light into pure red and green.",
        ),
        Tech(
            E,
            "Micro-LED mass transfer equipment",
            "마이크로 LED 전사 장비",
            "Transfers millions of micro-LED chips onto backplanes.",
        ),
        Tech(
            M,
            "Oxide TFT sputtering target",
            "산화물 TFT용 스퍼터링 타깃",
            "IGZO target for oxide thin-film transistor backplanes.",
        ),
        Tech(
            E,
            "OLED inkjet printing equipment",
            "OLED 잉크젯 프린팅 장비",
            "Prints organic layers directly onto large panels.",
        ),
        Tech(
            M,
            "Stretchable display substrate",
            "스트레처블 디스플레이 기판",
            "Elastic substrate that lets displays stretch without cracking.",
        ),
        Tech(
            M,
            "Optically clear adhesive for foldable displays",
            "폴더블용 광학 투명 접착제(OCA)",
            "Transparent adhesive that bonds foldable panel layers through repeated folding.",
        ),
    ),
    "AUTO": (
        Tech(
            P,
            "Integrated electric drive unit (e-axle)",
            "통합 구동 유닛(e-Axle)",
            "Motor, inverter and reducer in one electric drive module.",
        ),
        Tech(
            P,
            "ADAS camera module",
            "ADAS용 차량 카메라 모듈",
            "Front-view camera for lane keeping and emergency braking.",
        ),
        Tech(
            P,
            "V2X communication module",
            "V2X 통신 모듈",
            "Connects vehicles to other vehicles and roadside infrastructure.",
        ),
        Tech(
            P,
            "Lightweight aluminium battery enclosure",
            "경량 알루미늄 배터리 케이스",
            "Crash-resistant housing protecting the EV battery pack.",
        ),
        Tech(
            P,
            "Integrated charging control unit",
            "통합 충전 제어기(ICCU)",
            "Combines the on-board charger and low-voltage DC converter.",
        ),
    ),
    "MACH": (
        Tech(
            P,
            "Collaborative robot joint module",
            "협동로봇 관절 모듈",
            "Joint with motor, reducer, brake and torque sensor for cobots.",
        ),
        Tech(
            P,
            "Strain-wave gear reducer",
            "파동기어 감속기",
            "Compact zero-backlash reducer for robot wrists and arms.",
        ),
        Tech(
            E,
            "Directed energy deposition metal printer",
            "금속 DED 3D 프린터",
            "Deposits metal with a laser to build and repair large parts.",
        ),
        Tech(
            M,
            "Heavy-rare-earth-reduced permanent magnet",
            "중희토류 저감 영구자석",
            "NdFeB magnet using little or no dysprosium and terbium.",
        ),
        Tech(
            M,
            "Spherical titanium powder",
            "구형 티타늄 분말",
            "Plasma-atomized titanium powder for printing and injection moulding.",
        ),
        Tech(
            M,
            "Grain-oriented electrical steel",
            "방향성 전기강판",
            "Silicon steel with aligned grains for transformer cores.",
        ),
        Tech(
            P,
            "Electric excavator drive system",
            "전기굴삭기 전동 구동 시스템",
            "Battery-electric drive replacing the diesel engine in excavators.",
        ),
        Tech(
            P,
            "Autonomous mobile robot navigation module",
            "자율이동로봇(AMR) 주행 모듈",
            "Sensors and software that localize and steer mobile robots.",
        ),
        Tech(
            E,
            "Ultra-precision grinding machine",
            "초정밀 연삭기",
            "Grinds optics and moulds to sub-micron form accuracy.",
        ),
        Tech(
            M,
            "Hydrogen-reduced iron",
            "수소환원 직접환원철",
            "Iron reduced with hydrogen instead of coke for low-carbon steel.",
        ),
    ),
    "ELEC": (
        Tech(
            M,
            "Sulfide solid electrolyte",
            "황화물계 고체전해질",
            "Ion-conducting sulfide for all-solid-state batteries.",
        ),
        Tech(
            M,
            "Lithium iron phosphate cathode material",
            "리튬인산철(LFP) 양극재",
            "Low-cost, long-life cathode for energy storage and EVs.",
        ),
        Tech(
            M,
            "Carbon nanotube conductive additive",
            "탄소나노튜브 도전재",
            "CNT dispersion improving electrode conductivity.",
        ),
        Tech(
            P,
            "46-series cylindrical battery cell",
            "46시리즈 원통형 배터리 셀",
            "Large-format tabless cylindrical cell.",
        ),
        Tech(
            E,
            "Battery electrode coating equipment",
            "이차전지 전극 코팅 장비",
            "Coats and dries electrode slurry on metal foil at high speed.",
        ),
        Tech(
            E,
            "Battery formation and grading equipment",
            "이차전지 화성·검사 장비",
            "Charges new cells for the first time and sorts them by capacity.",
        ),
        Tech(
            P,
            "Power module for solar inverters",
            "태양광 인버터용 전력모듈",
            "Switching module converting photovoltaic DC into grid AC.",
        ),
        Tech(
            M,
            "Low-loss high-frequency copper-clad laminate",
            "저손실 고주파 동박적층판(CCL)",
            "Laminate with low dielectric loss for 5G boards.",
        ),
        Tech(
            M,
            "Recycled battery precursor",
            "재생 배터리 전구체",
            "Cathode precursor made from metals recovered from spent batteries.",
        ),
    ),
    "CHEM": (
        Tech(
            M,
            "Biodegradable PBAT resin",
            "생분해성 PBAT 수지",
            "Compostable polyester for films and packaging.",
        ),
        Tech(
            M,
            "Cyclic olefin copolymer",
            "고리형 올레핀 공중합체(COC)",
            "Transparent, low-moisture resin for optics and medical packaging.",
        ),
        Tech(
            M,
            "Polyketone resin",
            "폴리케톤 수지",
            "Engineering plastic made from carbon monoxide and olefins.",
        ),
        Tech(
            M,
            "Solution-polymerized styrene-butadiene rubber",
            "용액중합 스티렌부타디엔고무(SSBR)",
            "Synthetic rubber for low-rolling-resistance tyres.",
        ),
        Tech(
            M,
            "Polyvinylidene fluoride resin",
            "폴리불화비닐리덴(PVDF) 수지",
            "Fluoropolymer used as battery binder and chemical-resistant lining.",
        ),
        Tech(
            M,
            "Electronic-grade isopropyl alcohol",
            "전자급 고순도 이소프로필알코올(IPA)",
            "Ultra-pure solvent for wafer and panel cleaning.",
        ),
        Tech(
            M,
            "Electronic-grade sulfuric acid",
            "전자급 고순도 황산",
            "Ultra-pure acid for stripping and cleaning in fabs.",
        ),
        Tech(
            M,
            "Propane dehydrogenation catalyst",
            "프로판 탈수소 촉매",
            "Catalyst converting propane into propylene.",
        ),
        Tech(
            P,
            "Gas separation membrane module",
            "기체 분리막 모듈",
            "Hollow-fibre module separating gases such as CO2, N2 and H2.",
        ),
        Tech(
            M,
            "Waste-plastic pyrolysis oil upgrading catalyst",
            "폐플라스틱 열분해유 정제 촉매",
            "Removes impurities from pyrolysis oil for use as cracker feed.",
        ),
        Tech(
            M,
            "Heat-resistant polyimide film for flexible circuits",
            "연성회로기판용 내열 폴리이미드 필름",
            "Base film for flexible printed circuit boards.",
        ),
    ),
    "BIO": (
        Tech(
            M,
            "Cell culture media",
            "세포배양 배지",
            "Chemically defined media for growing production cell lines.",
        ),
        Tech(
            P,
            "Single-use bioreactor bag",
            "일회용 바이오리액터 백",
            "Sterile disposable bag in which cells are cultured.",
        ),
        Tech(
            M,
            "Chromatography resin for antibody purification",
            "항체 정제용 크로마토그래피 레진",
            "Protein A and ion-exchange resins capturing antibodies.",
        ),
        Tech(
            P,
            "Depth filter for bioprocessing",
            "바이오공정용 뎁스 필터",
            "Removes cells and debris from harvested culture fluid.",
        ),
        Tech(
            M,
            "Lipid nanoparticle materials for mRNA vaccines",
            "mRNA 백신용 지질나노입자(LNP) 소재",
            "Ionizable lipids and excipients that deliver mRNA into cells.",
        ),
    ),
}

ADDED_2024: dict[str, tuple[Tech, ...]] = {
    "SEMI": (
        Tech(
            E,
            "Thermo-compression bonder for HBM",
            "HBM용 열압착 본더",
            "Stacks DRAM dies for high-bandwidth memory.",
        ),
        Tech(
            M,
            "Glass core substrate for packaging",
            "패키지용 유리 코어 기판",
            "Glass-cored substrate enabling finer wiring in large packages.",
        ),
        Tech(
            P,
            "Dry vacuum pump for semiconductor processes",
            "반도체 공정용 건식 진공 펌프",
            "Oil-free pump evacuating deposition and etch chambers.",
        ),
    ),
    "DISP": (
        Tech(
            P,
            "Linear evaporation source for Gen 8.6 OLED",
            "8.6세대 OLED용 선형 증발원",
            "Evaporation source that coats large IT OLED substrates uniformly.",
        ),
    ),
    "AUTO": (
        Tech(
            P,
            "Zonal controller for software-defined vehicles",
            "SDV용 존 컨트롤러",
            "Gathers power and signals of one vehicle zone under central software.",
        ),
        Tech(
            P,
            "Autonomous-driving domain controller",
            "자율주행 통합제어기",
            "High-performance computer fusing sensor data for automated driving.",
        ),
    ),
    "MACH": (
        Tech(
            M,
            "Aluminium alloy for giga casting",
            "기가캐스팅용 알루미늄 합금",
            "Heat-treatment-free alloy for casting large vehicle body parts in one piece.",
        ),
    ),
    "ELEC": (
        Tech(
            M,
            "Lithium metal anode",
            "리튬메탈 음극재",
            "Thin lithium foil anode for next-generation high-energy cells.",
        ),
    ),
    "CHEM": (
        Tech(
            M,
            "Carbon capture absorbent",
            "이산화탄소 포집 흡수제",
            "Amine-based absorbent capturing CO2 from flue gas.",
        ),
    ),
    "BIO": (
        Tech(
            E,
            "Continuous chromatography system",
            "연속 크로마토그래피 시스템",
            "Multi-column system purifying biologics continuously.",
        ),
    ),
    "AERO": (
        Tech(
            P,
            "Turbofan high-pressure turbine blade",
            "터보팬 엔진 고압터빈 블레이드",
            "Cooled single-crystal blade for aircraft engine hot sections.",
        ),
        Tech(
            M,
            "Aerospace carbon-fibre prepreg",
            "항공용 탄소섬유 프리프레그",
            "Resin-impregnated carbon fibre for primary aircraft structures.",
        ),
        Tech(
            M,
            "Aerospace titanium alloy forging",
            "항공용 티타늄 합금 단조재",
            "Forged Ti-6Al-4V parts for airframes and engines.",
        ),
        Tech(
            P,
            "Aircraft landing gear",
            "항공기 착륙장치",
            "Retractable gear absorbing landing loads.",
        ),
        Tech(
            P,
            "Flight control actuator",
            "비행제어 구동기",
            "Electro-hydraulic actuator moving control surfaces.",
        ),
        Tech(
            P,
            "Aircraft auxiliary power unit",
            "항공기 보조동력장치(APU)",
            "Small gas turbine supplying power and air on the ground.",
        ),
        Tech(
            P,
            "Avionics mission computer",
            "항공전자 임무컴퓨터",
            "Computer integrating sensors, displays and weapons of an aircraft.",
        ),
        Tech(
            P,
            "Satellite star tracker",
            "위성 별추적기",
            "Camera determining satellite attitude from star patterns.",
        ),
        Tech(
            P,
            "Satellite reaction wheel",
            "위성 반작용휠",
            "Flywheel controlling satellite attitude.",
        ),
        Tech(
            P,
            "Satellite solar array",
            "위성 태양전지판",
            "Deployable panel of space-grade solar cells.",
        ),
        Tech(
            P,
            "Satellite electric propulsion thruster",
            "위성용 전기추진기",
            "Hall-effect thruster for orbit raising and station keeping.",
        ),
        Tech(
            P,
            "Synthetic aperture radar payload",
            "영상레이더(SAR) 탑재체",
            "Radar imaging payload for all-weather Earth observation.",
        ),
        Tech(
            P,
            "Liquid rocket engine turbopump",
            "액체로켓 엔진 터보펌프",
            "Turbine-driven pump feeding propellant into the combustion chamber.",
        ),
        Tech(
            M,
            "Ablative thermal protection material",
            "삭마형 열보호 소재",
            "Composite that protects nozzles and re-entry bodies by ablation.",
        ),
        Tech(
            P,
            "Composite propellant tank for launch vehicles",
            "발사체 복합재 추진제 탱크",
            "Lightweight carbon-composite tank for cryogenic propellants.",
        ),
        Tech(
            P,
            "Radiation-hardened onboard computer",
            "내방사선 탑재 컴퓨터",
            "Spacecraft computer tolerant of radiation in orbit.",
        ),
        Tech(
            P,
            "UAM electric propulsion motor",
            "도심항공교통(UAM) 전기추진 모터",
            "Lightweight high-power motor for eVTOL aircraft.",
        ),
        Tech(
            P,
            "Aircraft environmental control system",
            "항공기 환경제어계통",
            "Pressurizes and conditions cabin and avionics air.",
        ),
        Tech(
            E,
            "Automated fibre placement equipment",
            "복합재 자동 섬유적층(AFP) 장비",
            "Robotically lays up prepreg tows for large composite structures.",
        ),
        Tech(
            E,
            "Satellite thermal-vacuum test chamber",
            "위성 열진공 시험 장비",
            "Simulates the vacuum and temperature extremes of space.",
        ),
    ),
    "DEF": (
        Tech(
            P,
            "Infrared focal plane array detector",
            "적외선 초점면 배열 검출기",
            "Cooled IR detector array for thermal sights and seekers.",
        ),
        Tech(
            P,
            "AESA radar transmit/receive module",
            "능동위상배열(AESA) 레이더 송수신 모듈",
            "GaN transmit/receive module of an active electronically scanned array.",
        ),
    ),
    "H2": (
        Tech(
            P,
            "Fuel-cell membrane electrode assembly",
            "연료전지 막전극접합체(MEA)",
            "Membrane with catalyst layers where the fuel-cell reaction takes place.",
        ),
        Tech(
            M,
            "Polymer electrolyte membrane for fuel cells",
            "연료전지용 고분자 전해질막",
            "Perfluorinated proton-conducting membrane.",
        ),
        Tech(
            M,
            "Low-platinum fuel-cell catalyst",
            "저백금 연료전지 촉매",
            "Platinum-alloy catalyst cutting precious-metal loading.",
        ),
        Tech(
            M,
            "Gas diffusion layer",
            "기체확산층(GDL)",
            "Carbon paper distributing gases and removing water in fuel cells.",
        ),
        Tech(
            P,
            "Metal bipolar plate",
            "금속 분리판",
            "Coated stainless plate separating cells and channelling gases.",
        ),
        Tech(
            P,
            "Fuel-cell air compressor",
            "연료전지 공기압축기",
            "Oil-free, high-speed compressor supplying air to the stack.",
        ),
        Tech(
            P,
            "Type IV hydrogen storage tank",
            "Type 4 수소 저장용기",
            "700 bar carbon-composite tank with a polymer liner.",
        ),
        Tech(
            M,
            "High-barrier liner resin for hydrogen tanks",
            "수소용기용 고차단성 라이너 수지",
            "Polymer liner limiting hydrogen permeation.",
        ),
        Tech(
            P,
            "High-pressure hydrogen valve",
            "고압 수소 밸브",
            "Valve rated for 700 bar hydrogen service.",
        ),
        Tech(
            P,
            "Hydrogen refuelling station compressor",
            "수소충전소용 압축기",
            "Compresses hydrogen to 900 bar at refuelling stations.",
        ),
        Tech(
            E,
            "Hydrogen refuelling dispenser",
            "수소 충전 디스펜서",
            "Meters and pre-cools hydrogen into vehicle tanks.",
        ),
        Tech(
            P,
            "PEM water electrolysis stack",
            "PEM 수전해 스택",
            "Proton-exchange-membrane stack splitting water into hydrogen and oxygen.",
        ),
        Tech(
            E,
            "Alkaline water electrolyser",
            "알칼라인 수전해 장치",
            "Large-scale electrolyser with alkaline electrolyte.",
        ),
        Tech(
            M,
            "Low-iridium oxygen evolution catalyst",
            "저이리듐 산소발생 촉매",
            "Anode catalyst reducing iridium use in PEM electrolysers.",
        ),
        Tech(
            P,
            "Solid oxide fuel-cell stack",
            "고체산화물 연료전지(SOFC) 스택",
            "High-temperature ceramic stack for power generation.",
        ),
        Tech(
            E,
            "Hydrogen liquefier cold box",
            "수소 액화 콜드박스",
            "Cryogenic heat-exchanger unit liquefying hydrogen at −253 °C.",
        ),
        Tech(
            P,
            "Hydrogen leak detection sensor",
            "수소 누설 감지 센서",
            "Fast, selective sensor detecting hydrogen leaks.",
        ),
        Tech(
            E,
            "Ammonia cracking hydrogen extractor",
            "암모니아 분해 수소 추출기",
            "Cracks ammonia into hydrogen and nitrogen.",
        ),
    ),
}

REVISIONS: tuple[Revision, ...] = (
    Revision(
        "2020 key strategic technology list (100 technologies, 6 industries)",
        "2020-04-01",
        "2020-04-01",
        LIST_2020,
    ),
    Revision(
        "2022 revision, 10th MPE Competitiveness Committee (150 technologies, 7 industries)",
        "2022-10-18",
        "2022-10-18",
        ADDED_2022,
    ),
    Revision(
        "2024 revision (200 technologies, 10 industries)",
        "2024-04-03",
        "2024-04-03",
        ADDED_2024,
    ),
)


def build() -> dict[str, object]:
    """Return the dataset: industries, then the revisions as add/retire changes."""
    next_number = {code: 1 for code, _, _ in INDUSTRIES}
    to_retire: list[str] = []
    revisions: list[dict[str, object]] = []
    for revision in REVISIONS:
        changes: list[dict[str, object]] = [{"op": "retire", "code": c} for c in to_retire]
        to_retire = []
        for industry, techs in revision.added.items():
            for tech in techs:
                code = f"{industry}-{next_number[industry]:03d}"
                next_number[industry] += 1
                if tech.retired_next:
                    to_retire.append(code)
                technology = {
                    "code": code,
                    "industry_code": industry,
                    "kind": tech.kind,
                    "name_en": tech.name_en,
                    "name_ko": tech.name_ko,
                    "description": tech.description,
                }
                changes.append({"op": "add", "technology": technology})
        revisions.append(
            {
                "title": revision.title,
                "decided_on": revision.decided_on,
                "effective_on": revision.effective_on,
                "changes": changes,
            }
        )
    industries = [{"code": c, "name_en": en, "name_ko": ko} for c, en, ko in INDUSTRIES]
    return {"industries": industries, "revisions": revisions}


def render() -> str:
    """Return catalog.json's exact text."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write catalog.json beside this script."""
    OUTPUT.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
