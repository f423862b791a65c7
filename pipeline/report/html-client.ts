/**
 * The script of report.html, as text. It is the only script the page's CSP allows (by
 * its SHA-256), so it must stay a constant: nothing from the run may be spliced into it.
 * The run's data comes from the non-executable <script type="application/json"> block.
 *
 * It builds every element with createElement and sets text with textContent only, so a
 * value like `<img src=x onerror=alert(1)>` is shown as text, never parsed as HTML.
 * Plain ES2017, no template literals, so that it reads the same in any browser.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var PAGE = 50;
  var GROUP_PAGE = 20;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function fmt(n) { return Number(n).toLocaleString('en-US'); }
  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  /** Search box, pager and the counts line shared by the failed, deleted and merged views. */
  function controls(root, name, placeholder) {
    var bar = el('div', null, 'controls');
    var search = el('input');
    search.type = 'search';
    search.id = name + '-search';
    search.placeholder = placeholder;
    search.setAttribute('aria-label', placeholder);
    bar.appendChild(search);
    var filters = el('span', null, 'filters');
    bar.appendChild(filters);
    var pager = el('span', null, 'pager');
    var prev = el('button', '\u2039 Previous');
    prev.id = name + '-prev';
    prev.type = 'button';
    var label = el('span', '', 'page');
    label.id = name + '-page';
    var next = el('button', 'Next \u203a');
    next.id = name + '-next';
    next.type = 'button';
    pager.appendChild(prev); pager.appendChild(label); pager.appendChild(next);
    bar.appendChild(pager);
    var info = el('p', '', 'info');
    info.id = name + '-info';
    info.setAttribute('aria-live', 'polite');
    root.appendChild(bar);
    root.appendChild(info);
    return { search: search, filters: filters, prev: prev, next: next, label: label, info: info };
  }

  function truncationNote(root, table, file) {
    if (table.total > table.rows.length) {
      root.appendChild(el('p', 'This page holds the first ' + fmt(table.rows.length) + ' of ' + fmt(table.total) +
        ' rows; all of them are in ' + file + '.', 'note'));
    }
    if (table.cellsTruncated) {
      root.appendChild(el('p', 'Cells longer than ' + fmt(data.maxCellChars) + ' characters are cut here (marked \u2026); ' +
        file + ' has them whole.', 'note'));
    }
  }

  /** A paged, searchable table of CSV rows; filters are selects over given columns. */
  function tableView(root, table, o) {
    if (!root || !table) return;
    truncationNote(root, table, o.file);
    var rows = table.rows;
    var cols = table.columns;
    var shown = [];
    for (var c = 0; c < cols.length; c++) if (o.hide.indexOf(cols[c]) < 0) shown.push(c);
    var ui = controls(root, o.name, 'Search ' + o.label);
    var selects = [];
    o.filters.forEach(function (f) {
      var ci = cols.indexOf(f.column);
      if (ci < 0) return;
      var counts = {};
      for (var i = 0; i < rows.length; i++) counts[rows[i][ci]] = (counts[rows[i][ci]] || 0) + 1;
      var s = el('select');
      s.id = o.name + '-filter-' + f.column.replace(/^_/, '');
      s.setAttribute('aria-label', f.label);
      var all = el('option', 'every ' + f.label);
      all.value = '';
      s.appendChild(all);
      Object.keys(counts).sort().forEach(function (v) {
        var opt = el('option', v + ' (' + fmt(counts[v]) + ')');
        opt.value = v;
        s.appendChild(opt);
      });
      ui.filters.appendChild(s);
      selects.push({ ci: ci, sel: s });
    });
    var wrap = el('div', null, 'scroll');
    var t = el('table');
    var thead = el('thead');
    var hr = el('tr');
    shown.forEach(function (ci) { hr.appendChild(el('th', cols[ci])); });
    thead.appendChild(hr);
    var tbody = el('tbody');
    tbody.id = o.name + '-rows';
    t.appendChild(thead); t.appendChild(tbody);
    wrap.appendChild(t);
    root.appendChild(wrap);

    // Lower-cased text of each row, built the first time a search needs it.
    var hay = null;
    var matches = [];
    var page = 0;
    var applied = null;
    function apply() {
      var q = ui.search.value.trim().toLowerCase();
      var active = selects.filter(function (s) { return s.sel.value !== ''; });
      // A repeated event with the same query must not send the reader back to page 1.
      var state = JSON.stringify([q, selects.map(function (s) { return s.sel.value; })]);
      if (state === applied) return;
      applied = state;
      if (q && !hay) hay = new Array(rows.length);
      matches = [];
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i];
        var ok = true;
        for (var k = 0; k < active.length && ok; k++) ok = r[active[k].ci] === active[k].sel.value;
        if (ok && q) {
          var h = hay[i];
          if (h === undefined) h = hay[i] = r.join('\u0001').toLowerCase();
          ok = h.indexOf(q) >= 0;
        }
        if (ok) matches.push(i);
      }
      page = 0;
      render();
    }
    function render() {
      var pages = Math.max(1, Math.ceil(matches.length / PAGE));
      if (page >= pages) page = pages - 1;
      var frag = document.createDocumentFragment();
      var end = Math.min(matches.length, (page + 1) * PAGE);
      for (var m = page * PAGE; m < end; m++) {
        var r = rows[matches[m]];
        var tr = el('tr');
        for (var s = 0; s < shown.length; s++) tr.appendChild(el('td', r[shown[s]]));
        frag.appendChild(tr);
      }
      tbody.replaceChildren(frag);
      ui.info.textContent = matches.length === rows.length
        ? fmt(rows.length) + ' rows'
        : fmt(matches.length) + ' of ' + fmt(rows.length) + ' rows match';
      ui.label.textContent = 'Page ' + fmt(page + 1) + ' of ' + fmt(pages);
      ui.prev.disabled = page === 0;
      ui.next.disabled = page >= pages - 1;
    }
    ui.search.addEventListener('input', debounce(apply, 150));
    selects.forEach(function (s) { s.sel.addEventListener('change', apply); });
    ui.prev.addEventListener('click', function () { page--; render(); });
    ui.next.addEventListener('click', function () { page++; render(); });
    apply();
  }

  /** Merged groups: the surviving contact, the rows merged into it, the keys, conflicts. */
  function mergedView(root, merged, survivors) {
    if (!root || !merged) return;
    truncationNote(root, merged, 'merged.csv');
    var cols = merged.columns;
    var at = function (name) { return cols.indexOf(name); };
    var cRow = at('_row'), cInto = at('_merged_into_row'), cId = at('_merged_into_id'), cKey = at('_key'), cBy = at('_by');
    // The file of the kept row: _merged_into_file with several inputs (older reports: _file).
    var cFile = at('_merged_into_file') >= 0 ? at('_merged_into_file') : at('_file');
    var cRowFile = at('_file');
    var original = [];
    for (var c = 0; c < cols.length; c++) if (cols[c].charAt(0) !== '_') original.push(c);
    var sc = survivors.columns;
    var sFile = sc.indexOf('_file'), sRow = sc.indexOf('_row');
    var byKey = {};
    survivors.rows.forEach(function (r) { byKey[(sFile >= 0 ? r[sFile] : '') + '\u0000' + r[sRow]] = r; });
    var groups = [];
    var index = {};
    merged.rows.forEach(function (r) {
      var key = (cFile >= 0 ? r[cFile] : '') + '\u0000' + r[cInto];
      var g = index[key];
      if (!g) {
        g = index[key] = { file: cFile >= 0 ? r[cFile] : '', into: r[cInto], id: r[cId], by: r[cBy], keys: [], rows: [], survivor: byKey[key] };
        groups.push(g);
      }
      if (g.keys.indexOf(r[cKey]) < 0) g.keys.push(r[cKey]);
      g.rows.push(r);
    });
    var ui = controls(root, 'merged', 'Search merged groups');
    var list = el('div', null, 'groups');
    list.id = 'merged-groups';
    root.appendChild(list);
    var hay = null;
    var matches = groups;
    var page = 0;
    function text(g) {
      var parts = [g.into, g.id, g.keys.join(' ')];
      if (g.survivor) parts.push(g.survivor.join('\u0001'));
      g.rows.forEach(function (r) { parts.push(r.join('\u0001')); });
      return parts.join('\u0001').toLowerCase();
    }
    function apply() {
      var q = ui.search.value.trim().toLowerCase();
      if (!q) matches = groups;
      else {
        if (!hay) hay = groups.map(text);
        matches = groups.filter(function (_g, i) { return hay[i].indexOf(q) >= 0; });
      }
      page = 0;
      render();
    }
    function field(dl, name, value) {
      if (value === undefined || value === '') return;
      dl.appendChild(el('dt', name));
      dl.appendChild(el('dd', value));
    }
    function card(g) {
      var box = el('article', null, 'group');
      var title = g.by === 'target'
        ? 'Row ' + g.into + ' was merged by the target into its contact ' + (g.id || '(id not given)')
        : 'Row ' + g.into + (g.file ? ' of ' + g.file : '') + ' kept' + (g.id ? ' (target id ' + g.id + ')' : '') +
          '; ' + g.rows.length + ' row' + (g.rows.length === 1 ? '' : 's') + ' merged into it';
      box.appendChild(el('h3', title));
      var dl = el('dl');
      field(dl, 'matching key', g.keys.join(', '));
      var s = g.survivor;
      if (s) {
        field(dl, 'name', s[sc.indexOf('name')]);
        field(dl, 'phone', s[sc.indexOf('phone')]);
        field(dl, 'email', s[sc.indexOf('email')]);
        field(dl, 'owner', s[sc.indexOf('owner')]);
        field(dl, 'conflicts (chosen value first)', s[sc.indexOf('conflicts')]);
      }
      box.appendChild(dl);
      var t = el('table');
      var hr = el('tr');
      if (cRowFile >= 0) hr.appendChild(el('th', 'file'));
      hr.appendChild(el('th', 'row'));
      original.forEach(function (ci) { hr.appendChild(el('th', cols[ci])); });
      var thead = el('thead'); thead.appendChild(hr); t.appendChild(thead);
      var tb = el('tbody');
      g.rows.forEach(function (r) {
        var tr = el('tr');
        if (cRowFile >= 0) tr.appendChild(el('td', r[cRowFile]));
        tr.appendChild(el('td', r[cRow]));
        original.forEach(function (ci) { tr.appendChild(el('td', r[ci])); });
        tb.appendChild(tr);
      });
      t.appendChild(tb);
      var wrap = el('div', null, 'scroll');
      wrap.appendChild(t);
      box.appendChild(wrap);
      return box;
    }
    function render() {
      var pages = Math.max(1, Math.ceil(matches.length / GROUP_PAGE));
      if (page >= pages) page = pages - 1;
      var frag = document.createDocumentFragment();
      matches.slice(page * GROUP_PAGE, (page + 1) * GROUP_PAGE).forEach(function (g) { frag.appendChild(card(g)); });
      list.replaceChildren(frag);
      ui.info.textContent = matches.length === groups.length
        ? fmt(groups.length) + ' groups, ' + fmt(merged.rows.length) + ' merged rows'
        : fmt(matches.length) + ' of ' + fmt(groups.length) + ' groups match';
      ui.label.textContent = 'Page ' + fmt(page + 1) + ' of ' + fmt(pages);
      ui.prev.disabled = page === 0;
      ui.next.disabled = page >= pages - 1;
    }
    ui.search.addEventListener('input', debounce(apply, 150));
    ui.prev.addEventListener('click', function () { page--; render(); });
    ui.next.addEventListener('click', function () { page++; render(); });
    apply();
  }

  tableView(document.getElementById('failed-view'), data.failed, {
    name: 'failed', label: 'failed rows', file: 'failed.csv', hide: ['_hint'],
    filters: [{ column: '_code', label: 'reason' }, { column: '_stage', label: 'stage' }, { column: '_file', label: 'file' }],
  });
  mergedView(document.getElementById('merged-view'), data.merged, data.survivors);
  tableView(document.getElementById('deleted-view'), data.deleted, {
    name: 'deleted', label: 'deleted contacts', file: 'deleted.csv', hide: [], filters: [],
  });
  document.body.setAttribute('data-ready', 'true');
})();
`;
