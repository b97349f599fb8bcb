"""The « Résumé » sheet: the run's summary, a status table and its bar chart."""

from __future__ import annotations

from collections.abc import Sequence

from certsync.report.sheetml import (
    BOLD,
    HEAD,
    REL,
    SEVERITY_STYLE,
    SHEET_HEAD,
    Sheet,
    cell,
    cols,
    content_widths,
    dimension,
    repr_sheet,
    text,
)

_STATUS_TOP = 3
"""Sheet row of the status table's header (columns D:E), which the chart reads."""


def _summary_style(label: str) -> int:
    """General warnings stand out: « ATTENTION » and general findings in their colour."""
    if label == "ATTENTION":
        return SEVERITY_STYLE["bloquant"]
    for severity, style in SEVERITY_STYLE.items():
        if label.endswith(f"({severity})"):
            return style
    return BOLD


def summary_sheet(
    summary: Sequence[tuple[str, str | int]], statuses: Sequence[tuple[str, int]]
) -> Sheet:
    lines: dict[int, list[str]] = {1: [cell("A1", "Rapport certsync", BOLD)]}
    for r, (label, value) in enumerate(summary, start=3):
        lines[r] = [
            cell(f"A{r}", label, _summary_style(label) if label else 0),
            cell(f"B{r}", value),
        ]
    if statuses:
        top = _STATUS_TOP
        lines.setdefault(top, []).extend(
            [cell(f"D{top}", "Statut", HEAD), cell(f"E{top}", "Agents", HEAD)]
        )
        for r, (label, count) in enumerate(statuses, start=top + 1):
            lines.setdefault(r, []).extend([cell(f"D{r}", label), cell(f"E{r}", count)])
    data = "".join(f'<row r="{r}">{"".join(cells)}</row>' for r, cells in sorted(lines.items()))
    widths = content_widths(("", ""), summary)
    widths += [3.0, *content_widths(("Statut", "Agents"), statuses)] if statuses else []
    drawing = '<drawing r:id="rId1"/>' if statuses else ""
    size = dimension("E" if statuses else "B", max(lines))
    xml = f"{SHEET_HEAD}{size}{cols(widths)}<sheetData>{data}</sheetData>{drawing}</worksheet>"
    return Sheet("Résumé", [xml], chart=_status_chart(statuses) if statuses else None)


def _status_chart(statuses: Sequence[tuple[str, int]]) -> str:
    """A bar chart of agents per status, read from the status table (with cached values)."""
    first, last = _STATUS_TOP + 1, _STATUS_TOP + len(statuses)
    sheet = repr_sheet("Résumé")
    cats = "".join(
        f'<c:pt idx="{i}"><c:v>{text(label)}</c:v></c:pt>' for i, (label, _n) in enumerate(statuses)
    )
    vals = "".join(f'<c:pt idx="{i}"><c:v>{n}</c:v></c:pt>' for i, (_l, n) in enumerate(statuses))
    count = len(statuses)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{REL}"><c:roundedCorners val="0"/><c:chart>'
        "<c:title><c:tx><c:rich><a:bodyPr/><a:p><a:r><a:t>Agents par statut</a:t></a:r></a:p>"
        '</c:rich></c:tx><c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>'
        '<c:plotArea><c:layout/><c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/>'
        '<c:varyColors val="0"/><c:ser><c:idx val="0"/><c:order val="0"/>'
        f"<c:tx><c:strRef><c:f>{text(sheet)}!$E${_STATUS_TOP}</c:f></c:strRef></c:tx>"
        '<c:spPr><a:solidFill><a:srgbClr val="1F4E78"/></a:solidFill></c:spPr>'
        '<c:invertIfNegative val="0"/>'
        '<c:dLbls><c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/>'
        '<c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>'
        f"<c:cat><c:strRef><c:f>{text(sheet)}!$D${first}:$D${last}</c:f>"
        f'<c:strCache><c:ptCount val="{count}"/>{cats}</c:strCache></c:strRef></c:cat>'
        f"<c:val><c:numRef><c:f>{text(sheet)}!$E${first}:$E${last}</c:f>"
        f'<c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{count}"/>{vals}'
        "</c:numCache></c:numRef></c:val></c:ser>"
        '<c:gapWidth val="60"/><c:axId val="10"/><c:axId val="20"/></c:barChart>'
        '<c:catAx><c:axId val="10"/><c:scaling><c:orientation val="maxMin"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="l"/><c:numFmt formatCode="General" sourceLinked="0"/>'
        '<c:tickLblPos val="nextTo"/><c:crossAx val="20"/><c:crosses val="autoZero"/>'
        '<c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/></c:catAx>'
        '<c:valAx><c:axId val="20"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="b"/><c:majorGridlines/>'
        '<c:numFmt formatCode="0" sourceLinked="0"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="10"/><c:crosses val="autoZero"/><c:crossBetween val="between"/>'
        '</c:valAx></c:plotArea><c:plotVisOnly val="1"/></c:chart></c:chartSpace>'
    )


DRAWING = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">
<xdr:twoCellAnchor>
<xdr:from><xdr:col>6</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>2</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>
<xdr:to><xdr:col>13</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>18</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>
<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="2" name="Agents par statut"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>
<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>
<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"/></a:graphicData></a:graphic>
</xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>
</xdr:wsDr>"""  # noqa: E501
