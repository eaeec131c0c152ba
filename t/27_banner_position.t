# PrepBannerPosition: the served HTML carries the default banner with the
# position the feed chose, right after <body…>, every other byte as
# delivered: `sticky 56px` (pegado), `fixed-top` (arriba), `Fixed-Bottom
# 0.5REM` in a drill (abajo: the words as configtest takes them, SIMULACRO
# kept); a template in a positioned feed is rendered as written
# (/plantilla/pegado); a feed without the directive keeps the static banner
# of every earlier version byte for byte (qro).  That a navbar cannot hide
# them is tests/banner.sh's (headless chromium).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PrepTest;

my $label = corte_label('2024-06-02T21:05:00-06:00');
my $look = 'margin:0;padding:6px 12px;background:#1d3557;color:#fff;font:600 15px/1.4 system-ui,sans-serif;'
    . 'text-align:center';
my %want = (
    pegado => qq{<div id="prep-corte" role="status" style="position:sticky;top:56px;z-index:2147483000;$look;}
        . qq{overflow-wrap:break-word">$label</div>},
    arriba => qq{<div id="prep-corte" role="status" style="position:fixed;top:0;left:0;right:0;z-index:2147483000;}
        . qq{$look;overflow-wrap:break-word">$label</div>},
    abajo => qq{<div id="prep-corte" role="status" style="position:fixed;bottom:0.5rem;left:0;right:0;}
        . qq{z-index:2147483000;$look;overflow-wrap:break-word"><strong>SIMULACRO</strong> \xc2\xb7 $label</div>},
    qro => qq{<div id="prep-corte" role="status" style="$look">$label</div>},
);

my %seed = (pegado => 61, arriba => 62, abajo => 63, qro => 11);
for my $feed (qw(pegado arriba abajo qro)) {
    my ($pkg, $f) = ensure_corte($feed, corte => '2024-06-02T21:05:00-06:00', seed => $seed{$feed},
        files => $feed eq 'qro' ? 600 : 120);
    ok $f && $f->{corte}, "feed $feed serves a corte" or next;
    my $tree = extract_package($pkg);
    my @pages = grep { /\.html$/ && !m{(^|/)\.} && slurp("$tree/$_") =~ /<body\b/i } tree_files($tree);
    cmp_ok scalar(@pages), '>=', 5, "$feed: the package has pages with a body";
    my @bad;
    for my $p (@pages) {
        my $ins = banner_split(http(GET => "/prep/$feed/" . enc_path($p))->content, slurp("$tree/$p"));
        push @bad, "$p: " . ($ins // 'not the page with an insertion after <body…>') unless ($ins // '') eq $want{$feed};
    }
    is_deeply \@bad, [], "$feed: every page has its banner right after <body…>, nothing else changed"
        or diag "want $want{$feed}";
    my $one = banner_split(http(GET => "/prep/$feed/index.html")->content, slurp("$tree/index.html")) // '';
    unlike $one, qr/<(?:link|script|style)\b|class=/, "$feed: the banner is self-contained (inline style only)";
    if ($feed eq 'qro') {
        unlike $one, qr/position:|z-index/, 'qro: no PrepBannerPosition, the static banner as before';
    } else {
        like $one, qr/z-index:(\d+)/, "$feed: a z-index";
        my ($z) = $one =~ /z-index:(\d+)/;
        cmp_ok $z // 0, '>', 1030, "$feed: above Bootstrap's fixed-top navbar (1030)";
    }
    if ($feed eq 'pegado') {
        my $ins = banner_split(http(GET => '/plantilla/pegado/index.html')->content, slurp("$tree/index.html")) // '';
        like $ins, qr/\A<aside class="aviso-corte" data-iso="2024-06-02T21:05:00-06:00">Corte del 02\/06\/2024/,
            'a template in a positioned feed is rendered as written';
        unlike $ins, qr/position:/, '… without the position';
    }
}

done_testing;
