// The Huifang dashboard's script: draws the charts a page describes and sends the few changes a
// page makes (submitting figures, approving a survey form) through the API.
"use strict";

(function () {
  function drawCharts() {
    var source = document.getElementById("chart-data");
    if (!source || typeof echarts === "undefined") return;
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var spec = data[element.dataset.chart];
      if (!spec) return;
      try {
        var chart = echarts.init(element, null, { renderer: "canvas" });
        // Without animation, setOption draws at once. Nothing counted: say so, rather than draw
        // zeros (a doughnut of five equal slices when nobody was asked).
        var empty = isEmpty(spec);
        element.dataset.empty = String(empty);
        chart.setOption(empty ? emptyOption(spec, data.empty_text || "暂无数据") : optionFor(spec));
        element.dataset.rendered = "true";
        window.addEventListener("resize", function () { chart.resize(); });
      } catch (error) {
        element.dataset.error = String(error);
        element.textContent = String(error);
      }
    });
  }

  function isEmpty(spec) {
    return !spec.labels.length || spec.series.every(function (s) {
      return s.values.every(function (v) { return v === null || v === 0; });
    });
  }

  function emptyOption(spec, text) {
    return {
      title: { text: spec.title, left: 10, top: 6, textStyle: { fontSize: 14 } },
      graphic: { type: "text", left: "center", top: "middle", style: { text: text, fontSize: 16, fill: "#8a94a6" } },
      animation: false,
    };
  }

  function optionFor(spec) {
    var base = {
      title: { text: spec.title, left: 10, top: 6, textStyle: { fontSize: 14 } },
      tooltip: { trigger: spec.kind === "pie" ? "item" : "axis" },
      grid: { left: 50, right: 50, top: 60, bottom: 40 },
      animation: false,
    };
    if (spec.kind === "pie") {
      base.series = [{
        type: "pie", radius: ["35%", "65%"], top: 30,
        data: spec.labels.map(function (label, i) { return { name: label, value: spec.series[0].values[i] }; }),
      }];
      base.legend = { bottom: 0 };
      return base;
    }
    base.legend = { top: 6, right: 10 };
    // Long unit names side by side overlap at a laptop's width: turned, cut to a width, and the
    // full name in the tooltip.
    var turned = spec.labels.length > 3;
    base.xAxis = {
      type: "category", data: spec.labels,
      axisLabel: { interval: 0, rotate: turned ? 30 : 0, width: 96, overflow: "truncate", hideOverlap: true },
    };
    if (turned) base.grid.bottom = 80;
    var percentAxis = spec.series.some(function (s) { return s.percent; });
    base.yAxis = [{ type: "value", minInterval: 1 }];
    if (percentAxis) base.yAxis.push({ type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } });
    base.series = spec.series.map(function (s) {
      return {
        name: s.name,
        type: s.line ? "line" : "bar",
        yAxisIndex: s.percent ? 1 : 0,
        data: s.values,
        connectNulls: true,
      };
    });
    return base;
  }

  // Buttons that call the API: data-post (the path), data-body (JSON), data-confirm (question).
  function wireActions() {
    document.querySelectorAll("button[data-post]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
        button.disabled = true;
        fetch(button.dataset.post, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-Huifang-Request": "dashboard" },
          body: button.dataset.body || "{}",
        }).then(function (response) {
          if (response.ok) { window.location.reload(); return; }
          return response.json().then(function (body) {
            window.alert(body.message || response.statusText);
            button.disabled = false;
          });
        }).catch(function (error) {
          window.alert(String(error));
          button.disabled = false;
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    wireActions();
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
