// Meeting mode (/meeting/<id>/present): the arrow keys (or N and P, Page Down and Page Up) go to the
// next and previous exception by following the page's own Next and Previous links. Keys typed into a
// form field, or with a modifier, are left alone.
(function () {
    document.addEventListener("keydown", function (event) {
        if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) { return; }
        var target = event.target;
        if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
        var id = null;
        if (event.key === "ArrowRight" || event.key === "PageDown" || event.key === "n" || event.key === "N") {
            id = "present-next";
        } else if (event.key === "ArrowLeft" || event.key === "PageUp" || event.key === "p" || event.key === "P") {
            id = "present-prev";
        }
        var link = id && document.getElementById(id);
        if (link && link.tagName === "A") {
            event.preventDefault();
            link.click();
        }
    });
})();
