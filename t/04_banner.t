# The "Último corte" banner: the default <div id="prep-corte" …>LABEL</div>
# right after the opening <body…> tag of every HTML file, nothing else
# changed; PrepBanner off serves HTML unchanged; PrepBannerTemplate renders
# {{fecha}} {{hora}} {{zona}} {{iso}}; the banner and X-PREP-Corte follow
# PrepTimeZone.  Feeds: qro (-06:00) and pac (-07:00, corte time read from
# line 2 of the CSV database).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Encode ();
use PrepTest;

my ($pkg, $f) = ensure_corte('qro', corte => '2024-06-02T21:05:00-06:00', seed => 11, files => 600);
ok $f && $f->{corte}, 'feed qro serves a corte' or give_up('qro has no corte');
my $tree = extract_package($pkg);
my @html = grep { /\.html$/ && !m{(^|/)\.} } tree_files($tree);
my @with_body = grep { slurp("$tree/$_") =~ /<body\b/i } @html;
cmp_ok scalar(@with_body), '>=', 9, 'the package has HTML pages with a body tag';

my $label = "\xc3\x9altimo corte: 02/06/2024 21:05 (Tiempo del Centro, UTC-06:00)";
is corte_label('2024-06-02T21:05:00-06:00'), $label, '(the expected label, as bytes)';

# Default banner.
my (@bad, %seen);
for my $p (@with_body) {
    my $orig = slurp("$tree/$p");
    my $body = http(GET => '/prep/qro/' . enc_path($p))->content;
    my $ins = banner_split($body, $orig);
    if (!defined $ins) {
        push @bad, "$p: not the original with an insertion right after <body…>";
        next;
    }
    $seen{$ins}++;
    push @bad, "$p: inserted «$ins»"
        unless $ins =~ /\A<div id="prep-corte"[^>]*>\Q$label\E<\/div>\s*\z/;
}
is_deeply \@bad, [], "every HTML page: <div id=\"prep-corte\" …>$label</div> right after <body…>, rest byte-identical";
is scalar(keys %seen), 1, 'one banner for all pages';

# The body tag itself stays as delivered (attributes and all).
{
    my $orig = slurp("$tree/ayuntamientos.html");
    my $body = http(GET => '/prep/qro/ayuntamientos.html')->content;
    like $body, qr/<body class="prep ayuntamientos" data-eleccion="AYU"><div id="prep-corte"/,
        'the banner follows <body class=… data-…> immediately';
}

# PrepBanner off.
@bad = ();
for my $p (@html) {
    my $r = http(GET => '/sinbanner/qro/' . enc_path($p));
    push @bad, $p unless $r->code == 200 && $r->content eq slurp("$tree/$p");
}
is_deeply \@bad, [], 'PrepBanner off: every HTML file byte-identical to the package';
is http(GET => '/sinbanner/qro/index.html')->header('X-PREP-Corte'), '2024-06-02T21:05:00-06:00',
    'PrepBanner off: X-PREP-Corte still sent';
isnt http(GET => '/sinbanner/qro/index.html')->header('ETag'), http(GET => '/prep/qro/index.html')->header('ETag'),
    'the HTML with and without banner have different ETags';

# PrepBannerTemplate.
{
    my $tpl = slurp(t_dir() . '/conf/banner-plantilla.html');
    $tpl =~ s/\s+\z//;
    my ($pre_zona, $post_zona) = split /\{\{zona\}\}/, $tpl, 2;
    my %v = (fecha => '02/06/2024', hora => '21:05', iso => '2024-06-02T21:05:00-06:00');
    for ($pre_zona, $post_zona) { s/\{\{(\w+)\}\}/$v{$1}/g }
    my $want = qr/\A\Q$pre_zona\E[^<>{}]*Tiempo del Centro[^<>{}]*\Q$post_zona\E\s*\z/;
    @bad = ();
    for my $p (@with_body) {
        my $ins = banner_split(http(GET => '/plantilla/qro/' . enc_path($p))->content, slurp("$tree/$p"));
        push @bad, "$p: " . ($ins // 'not the original with an insertion') unless defined $ins && $ins =~ $want;
    }
    is_deeply \@bad, [], 'PrepBannerTemplate: the rendered template right after <body…> of every page';
    my $ins = banner_split(http(GET => '/plantilla/qro/index.html')->content, slurp("$tree/index.html")) // '';
    unlike $ins, qr/\{\{/, 'no placeholder is left';
    like $ins, qr/data-iso="2024-06-02T21:05:00-06:00"/, '{{iso}}';
    like $ins, qr/Corte del 02\/06\/2024 a las 21:05 horas/, '{{fecha}} and {{hora}}';
    like $ins, qr/\(Tiempo del Centro[^)]*\)/, '{{zona}}';
}

# The fragment without <body> is unchanged in every Location.
for my $loc ('/prep/qro', '/sinbanner/qro', '/plantilla/qro') {
    ok http(GET => "$loc/partials/tabla-resultados.html")->content eq slurp("$tree/partials/tabla-resultados.html"),
        "$loc: HTML without <body> unchanged";
}

# Another zone: feed pac shows times in -07:00, and reads the corte time
# from line 2 of datos/PRES_2024.csv ("02/06/2024 21:05 (UTC-6)").
{
    my ($pkg2, $f2) = ensure_corte('pac', corte => '2024-06-02T21:05:00-06:00', seed => 41, files => 300);
    ok $f2 && $f2->{corte}, 'feed pac serves a corte' or diag explain status_feed('pac');
    my $iso7 = '2024-06-02T20:05:00-07:00';
    is $f2 && $f2->{corte}{time}, $iso7, 'pac: corte.time in the feed zone';
    is Encode::encode_utf8($f2 && $f2->{corte}{label} // ''),
        "\xc3\x9altimo corte: 02/06/2024 20:05 (Tiempo del Pac\xc3\xadfico, UTC-07:00)", 'pac: corte.label';
    my $tree2 = extract_package($pkg2);
    my $r = http(GET => '/prep/pac/index.html');
    is $r->header('X-PREP-Corte'), $iso7, 'pac: X-PREP-Corte in -07:00';
    my $ins = banner_split($r->content, slurp("$tree2/index.html")) // '';
    like $ins, qr/\A<div id="prep-corte"[^>]*>\xc3\x9altimo corte: 02\/06\/2024 20:05 \(Tiempo del Pac\xc3\xadfico, UTC-07:00\)<\/div>\s*\z/,
        'pac: the banner in Tiempo del Pacífico' or diag $ins;
}

done_testing;
